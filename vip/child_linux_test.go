package vip_test

// runChild runs this test binary as a node process when the environment
// asks for one (see startNode) and reports whether it did.
func runChild() bool { return false }
