package resolv

import (
	"fmt"
	"strings"
)

// Limits of DNS names (RFC 1035 section 2.3.4, RFC 1123 section 2.1).
const (
	// MaxLabelLength is the longest label of a name, in bytes.
	MaxLabelLength = 63
	// MaxNameLength is the longest name in text form, without a trailing
	// dot, in bytes.
	MaxNameLength = 253
)

// checkName reports why name is not a valid DNS name in text form, or nil.
// Labels are 1-63 letters, digits and hyphens, neither starting nor ending
// with a hyphen; underscore is allowed only when underscore is set (DNS
// names such as service labels may carry one, host names may not). The
// whole name is at most 253 characters. A trailing dot is not accepted:
// Normalize removes it.
func checkName(name string, underscore bool) error {
	if name == "" {
		return fmt.Errorf("empty name")
	}
	if len(name) > MaxNameLength {
		return fmt.Errorf("%q is %d characters long, more than %d", abbrev(name), len(name), MaxNameLength)
	}
	for label := range strings.SplitSeq(name, ".") {
		if err := checkLabel(label, underscore); err != nil {
			return fmt.Errorf("%q: %w", abbrev(name), err)
		}
	}
	return nil
}

func checkLabel(label string, underscore bool) error {
	if label == "" {
		return fmt.Errorf("empty label")
	}
	if len(label) > MaxLabelLength {
		return fmt.Errorf("label %q is %d characters long, more than %d", abbrev(label), len(label), MaxLabelLength)
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(label)-1 {
				return fmt.Errorf("label %q starts or ends with a hyphen", label)
			}
		case c == '_' && underscore:
		default:
			return fmt.Errorf("label %q has the character %q (allowed: letters, digits, hyphen%s)", abbrev(label), rune(c), underscoreNote(underscore))
		}
	}
	return nil
}

func underscoreNote(underscore bool) string {
	if underscore {
		return ", underscore"
	}
	return ""
}

// abbrev shortens long strings in error messages.
func abbrev(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:20] + "..." + s[len(s)-10:]
}

// normalizeName lower-cases name and removes one trailing dot.
func normalizeName(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}
