package greet

import "strings"

func weftHelloBefore(name *string) (struct{}, bool) {
	*name = strings.ToUpper(*name)
	return struct{}{}, true
}

func weftHelloAfter(_ struct{}, result *string) {
	*result += "!"
}
