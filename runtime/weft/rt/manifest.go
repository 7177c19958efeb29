package rt

// manifest is what weft wove into this program. Set by the init function
// weft adds to the main package; kept reachable so `weft inspect` finds it
// in the binary's data, stripped or not.
var manifest string

// SetManifest records the manifest (called once, from the main package).
func SetManifest(m string) {
	manifest = m
}

// Manifest returns what weft wove into this program.
func Manifest() string {
	return manifest
}
