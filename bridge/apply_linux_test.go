package bridge

import (
	"errors"
	"fmt"
	"testing"

	"github.com/netprim/netprim"
)

func TestJoinUnique(t *testing.T) {
	a := errors.New("a")
	b := fmt.Errorf("b: %w: %w", a, netprim.ErrInvalidSpec)
	got := joinUnique(errors.Join(a, b), errors.Join(a), nil, b)
	if got.Error() != "a\nb: a: invalid spec" || !errors.Is(got, netprim.ErrInvalidSpec) {
		t.Fatalf("joinUnique = %q", got)
	}
	if joinUnique(nil, nil) != nil {
		t.Fatal("joinUnique of nothing is not nil")
	}
}
