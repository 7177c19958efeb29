package lib

func Hook(a int) int {
	return a +
}
