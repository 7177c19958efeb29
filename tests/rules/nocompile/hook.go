package greet

func weftHelloBefore(name *string) (struct{}, bool) {
	var _ *renamedInThisRelease
	return struct{}{}, false
}
