package selector

import (
	"fmt"
	"path"
	"strings"
	"testing"
)

// FuzzParsePCIID: whatever ParsePCIID accepts prints back to the same
// value (in lower case), and it accepts every such printing.
func FuzzParsePCIID(f *testing.F) {
	for _, s := range []string{"1af4:1000", "8086:15F3", "1af4", ":", "1af4:10000", "+1af:1000", "ffff:ffff", "0x1a:0000", "１af4:1000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, d, err := ParsePCIID(s)
		if err != nil {
			return
		}
		back := fmt.Sprintf("%04x:%04x", v, d)
		if back != strings.ToLower(s) {
			t.Fatalf("ParsePCIID(%q) = %04x:%04x, prints as %q", s, v, d, back)
		}
		v2, d2, err := ParsePCIID(strings.ToUpper(back))
		if err != nil || v2 != v || d2 != d {
			t.Fatalf("upper-case %q: %x %x %v", back, v2, d2, err)
		}
	})
}

// FuzzPattern: ValidatePattern agrees with path.Match, a valid pattern
// never makes matching fail, a pattern without metacharacters matches
// exactly itself (ignoring case for the folded fields), and Selector.Validate
// accepts it in every glob field.
func FuzzPattern(f *testing.F) {
	for _, s := range [][2]string{
		{"0*", "0000:00:03.0"}, {"*:f0:ab", "00:11:22:33:F0:AB"}, {"[", ""}, {`\`, `\`},
		{"0000:0[0-3]:*", "0000:02:00.1"}, {"[^a-f]*", "x"}, {"?", "é"}, {"[Z-a]", "_"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, value string) {
		_, perr := path.Match(pattern, value)
		verr := ValidatePattern(pattern)
		if pattern != "" && (perr == nil) != (verr == nil) {
			t.Fatalf("pattern %q: path.Match error %v, ValidatePattern %v", pattern, perr, verr)
		}
		if verr != nil {
			if matchExact(pattern, value) || matchFold(pattern, value) {
				t.Fatalf("invalid pattern %q matched %q", pattern, value)
			}
			s := Selector{BusPath: pattern}
			if s.Validate() == nil {
				t.Fatalf("Validate accepted %q", pattern)
			}
			return
		}
		if pattern == "" {
			return
		}
		if err := (Selector{Driver: pattern, HardwareAddr: pattern, PermanentAddr: pattern, BusPath: pattern}).Validate(); err != nil {
			t.Fatalf("Validate(%q): %v", pattern, err)
		}
		if !strings.ContainsAny(pattern, `*?[\`) {
			if matchExact(pattern, value) != (pattern == value) {
				t.Fatalf("literal %q vs %q: exact match %v", pattern, value, !(pattern == value))
			}
			if matchFold(pattern, value) != (asciiLower(pattern) == asciiLower(value)) {
				t.Fatalf("literal %q vs %q: folded match wrong", pattern, value)
			}
			if !matchFold(asciiUpper(pattern), asciiLower(pattern)) {
				t.Fatalf("literal %q does not match itself across case", pattern)
			}
		}
		if matchExact(pattern, value) && asciiLower(value) == value && asciiLower(pattern) == pattern && !matchFold(pattern, value) {
			t.Fatalf("%q matches %q exactly but not folded", pattern, value)
		}
	})
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}
