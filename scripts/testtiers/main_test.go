package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stream renders go test -json lines: each entry is "ACTION PKG TEST
// [OUTPUT]" with "-" for an empty test name; OUTPUT is one line.
func stream(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		f := strings.SplitN(l, " ", 4)
		test := f[2]
		if test == "-" {
			test = ""
		}
		out := ""
		if len(f) == 4 {
			out = f[3]
			if !strings.HasSuffix(out, "\n") {
				out += "\n"
			}
		}
		b.WriteString(`{"Action":"` + f[0] + `","Package":"` + f[1] + `","Test":"` + test + `","Output":` + quote(out) + "}\n")
	}
	return b.String()
}

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const hostRun = `output m/bond TestA === RUN   TestA
output m/bond TestA     a_test.go:12: kernel lacks bonding: run with scripts/kerneltest
output m/bond TestA --- SKIP: TestA (0.00s)
skip m/bond TestA
pass m/bond TestB
output m/nstest TestC/dummy/require     m_test.go:45: kernel lacks dummy: run with scripts/kerneltest
skip m/nstest TestC/dummy/require
pass m/nstest TestC/dummy
pass m/nstest TestC
output m/wg TestK     k_test.go:39: kernel lacks the wireguard module
skip m/wg TestK
output m/x TestR     r_test.go:9: not running rootless
skip m/x TestR
output m/x TestBad     b_test.go:1: boom
output m/x TestBad --- FAIL: TestBad (0.00s)
fail m/x TestBad
fail m/x -`

func TestKernelTests(t *testing.T) {
	r, err := readRun(write(t, "host.json", stream(strings.Split(hostRun, "\n")...)))
	if err != nil {
		t.Fatal(err)
	}
	pkgs, tests := kernelTests(r)
	if d := cmp.Diff([]string{"m/bond", "m/nstest"}, pkgs); d != "" {
		t.Errorf("packages (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string][]string{"m/bond": {"TestA"}, "m/nstest": {"TestC"}}, tests); d != "" {
		t.Errorf("tests (-want +got):\n%s", d)
	}
	if got := runPattern([]string{"TestA", "TestB.x"}); got != `^(TestA|TestB\.x)$` {
		t.Errorf("runPattern = %q", got)
	}
	if p, s, f := r.counts(); p != 3 || s != 4 || f != 1 {
		t.Errorf("counts %d %d %d, want 3 4 1", p, s, f)
	}
	if got := r.Tests[testKey{"m/bond", "TestA"}].Reason; got != "kernel lacks bonding: run with scripts/kerneltest" {
		t.Errorf("reason %q", got)
	}
}

func TestReportPrintsFailures(t *testing.T) {
	in := stream(strings.Split(hostRun, "\n")...) + "not json\n" +
		stream("output m/x - FAIL\tm/x\t0.1s\n", "output m/y - ok  \tm/y\t0.1s\n", "output m/y - PASS\n")
	var sink, out strings.Builder
	if !report(strings.NewReader(in), &sink, &out) {
		t.Error("report did not see the failure")
	}
	want := "    b_test.go:1: boom\n--- FAIL: TestBad (0.00s)\nnot json\nFAIL\tm/x\t0.1s\nok  \tm/y\t0.1s\n"
	if d := cmp.Diff(want, out.String()); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
	if sink.String() != in {
		t.Error("the copy differs from the input")
	}
}

func TestCheck(t *testing.T) {
	list := write(t, "tiers.list", `# comment
rootless ./x ^TestR$
rootless ./y ^TestNone$
never ./wg TestK no module
never ./gone TestOld reason
`)
	l, err := readList(list)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := readRun(write(t, "host.json", stream(strings.Split(hostRun, "\n")...)))
	kernel, _ := readRun(write(t, "kernel.json", stream("pass m/nstest TestC/dummy/require", "pass m/nstest TestC")))
	rootless, _ := readRun(write(t, "rootless.json", stream("pass m/x TestR")))
	problems, notes := check(l, host, kernel, rootless)
	want := []string{
		`m/bond.TestA skipped in every tier (kernel lacks bonding: run with scripts/kerneltest): make it run in one, or list it in scripts/tiers.list as "never" with the reason`,
		"m/bond.TestA skipped on the host for the kernel tier but did not run there",
		"rootless ./y ^TestNone$ ran no test",
	}
	if d := cmp.Diff(want, problems); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	if len(notes) != 0 {
		t.Errorf("notes %q", notes)
	}
	if !slices.Equal(l.Rootless[0][:], []string{"./x", "^TestR$"}) {
		t.Errorf("rootless %v", l.Rootless)
	}
	for _, bad := range []string{"rootless ./x\n", "rootless ./... .\n", "never x TestA why\n", "other ./x y\n", "rootless ./x (\n"} {
		if _, err := readList(write(t, "bad.list", bad)); err == nil {
			t.Errorf("readList(%q) accepted it", bad)
		}
	}
}
