package dhcp

import (
	"math"
	"testing"
	"time"
)

// TestBackoff checks the retransmission delays against the RFCs: DHCPv4
// (RFC 2131 4.1) 4 s doubling to 64 s, each randomized by ±1 s; DHCPv6
// (RFC 8415 15) the initial timeout doubling to the maximum, each
// randomized by ±10 %, the first of a Solicit strictly more than the
// initial timeout.
func TestBackoff(t *testing.T) {
	var v4 Config
	v4.Normalize()
	for i, nominal := range []time.Duration{4, 8, 16, 32, 64, 64} {
		nominal *= time.Second
		lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
		for range 2000 {
			d := v4.Timing.backoff(i)
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < nominal-time.Second || hi > nominal+time.Second || lo == hi {
			t.Errorf("DHCPv4 retransmission %d: delays %v to %v, want %v ± 1s, randomized", i, lo, hi, nominal)
		}
	}
	var v6 Config6
	v6.Normalize()
	for _, solicit := range []bool{false, true} {
		for i, nominal := range []time.Duration{1, 2, 4, 8, 16, 32, 64, 120, 120} {
			nominal *= time.Second
			lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
			for range 2000 {
				d := v6.Timing.backoff6(i, solicit)
				lo, hi = min(lo, d), max(hi, d)
			}
			want := nominal - nominal/10
			if solicit && i == 0 {
				want = nominal + 1
			}
			if lo < want || hi > nominal+nominal/10 || lo == hi {
				t.Errorf("DHCPv6 retransmission %d (solicit %v): timeouts %v to %v, want %v to %v, randomized", i, solicit, lo, hi, want, nominal+nominal/10)
			}
		}
	}
}
