package resolv

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
)

func TestDiffLines(t *testing.T) {
	for _, tc := range []struct {
		name       string
		have, want string
		diff       []string
	}{
		{"equal", "a\nb\n", "a\nb\n", nil},
		{"new file", "", "a\nb\n", []string{"+ file F: a", "+ file F: b"}},
		{"changed middle", "a\nb\nc\n", "a\nx\nc\n", []string{"- file F: b", "+ file F: x"}},
		{"insert", "a\nc\n", "a\nb\nc\n", []string{"+ file F: b"}},
		{"remove", "a\nb\nc\n", "a\nc\n", []string{"- file F: b"}},
		{"blocks", "h\n1\n2\nm\n3\nt\n", "h\n9\nm\n3\n4\nt\n", []string{"- file F: 1", "- file F: 2", "+ file F: 9", "+ file F: 4"}},
		{"no newline", "a\nb", "a\nb\n", []string{"- file F: b (no newline at end of file)", "+ file F: b"}},
	} {
		var got []string
		for _, c := range diffLines("F", []byte(tc.have), []byte(tc.want)) {
			got = append(got, c.String())
		}
		if d := cmp.Diff(tc.diff, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
}

func TestPlanFile(t *testing.T) {
	want := []byte("a\n")
	if c := planFile(fileState{display: "F", exists: true, content: want, mode: FileMode}, want); len(c) != 0 {
		t.Errorf("equal file: %v", c)
	}
	c := planFile(fileState{display: "F", exists: true, content: want, mode: 0o600}, want)
	if d := cmp.Diff([]netprim.Change{{Action: netprim.Modify, Kind: "file", Object: "F", Field: "mode", From: "0600", To: "0644"}}, c); d != "" {
		t.Errorf("mode (-want +got):\n%s", d)
	}
	c = planFile(fileState{display: "F", link: "../run/x", replace: true, content: want}, want)
	if len(c) != 1 || c[0].String() != "± file F (symbolic link to ../run/x replaced by a regular file)" {
		t.Errorf("replace: %v", c)
	}
}
