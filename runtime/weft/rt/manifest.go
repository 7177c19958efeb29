package rt

// manifest is what weft wove into this program. Set by the file weft
// adds to the main package; kept reachable so `weft inspect` finds it
// in the binary's data, stripped or not.
var manifest string

// SetManifest records the manifest. The main package calls it from a
// variable's initializer, not a function, so that `go test -cover` counts
// no statement of weft's in the user's package.
func SetManifest(m string) struct{} {
	manifest = m
	return struct{}{}
}

// Manifest returns what weft wove into this program.
func Manifest() string {
	return manifest
}
