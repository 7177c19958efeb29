package greet

func weftHelloBefore(name *string, n *int) {}
