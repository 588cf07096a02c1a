package hcloud_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/vip"
	"github.com/netprim/netprim/vip/hcloud"
)

// The calls of the fake API, as its request log names them.
const (
	list   = "GET /v1/floating_ips"
	poll   = "GET /v1/actions"
	assign = "POST /v1/floating_ips/%d/actions/assign"
)

func assignOf(id int64) string { return fmt.Sprintf(assign, id) }

// proof is how long a test's term is proven when the test does not care.
const proof = time.Minute

func checkRequests(t *testing.T, api *fakeAPI, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, api.Requests(), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("API requests (-want +got):\n%s", diff)
	}
}

func TestName(t *testing.T) {
	h, err := hcloud.New(hcloud.Options{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Name(); got != "hcloud" {
		t.Errorf("Name() = %q, want hcloud", got)
	}
}

func TestAcquireAssigns(t *testing.T) {
	others := []floatingIP{{ID: 40, IP: "198.51.100.1", Server: 8}, {ID: 41, IP: "2001:db8:9::/64", Server: 8}}
	for _, c := range []struct {
		name     string
		fip      floatingIP
		vip      string
		pageSize int
		status   string   // of the action the assign call returns
		polls    []string // statuses of the polls
		want     []string
	}{
		{
			name: "ipv4 assigned elsewhere", fip: floatingIP{ID: 42, IP: "203.0.113.10", Server: 8}, vip: "203.0.113.10",
			polls: []string{"running", "running", "success"},
			want:  []string{list, assignOf(42), poll, poll, poll},
		},
		{
			name: "ipv4 unassigned", fip: floatingIP{ID: 42, IP: "203.0.113.10"}, vip: "203.0.113.10",
			polls: []string{"success"},
			want:  []string{list, assignOf(42), poll},
		},
		{
			name: "ipv4 as ipv4-mapped ipv6", fip: floatingIP{ID: 42, IP: "203.0.113.10", Server: 8}, vip: "::ffff:203.0.113.10",
			polls: []string{"success"},
			want:  []string{list, assignOf(42), poll},
		},
		{
			name: "ipv6 inside the floating /64", fip: floatingIP{ID: 43, IP: "2001:db8:1:2::/64", Server: 8}, vip: "2001:db8:1:2::10",
			polls: []string{"running", "success"},
			want:  []string{list, assignOf(43), poll, poll},
		},
		{
			name: "on the last page", fip: floatingIP{ID: 42, IP: "203.0.113.10", Server: 8}, vip: "203.0.113.10", pageSize: 1,
			polls: []string{"success"},
			want:  []string{list, list, list, assignOf(42), poll},
		},
		{
			name: "action finished at once", fip: floatingIP{ID: 42, IP: "203.0.113.10", Server: 8}, vip: "203.0.113.10",
			status: "success",
			want:   []string{list, assignOf(42)},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := newFakeAPI(t, &fakeAPI{
				FIPs:         append(append([]floatingIP(nil), others...), c.fip),
				PageSize:     c.pageSize,
				AssignTo:     7,
				ActionStatus: c.status,
				Poll: func(n int) string {
					if n > len(c.polls) {
						t.Errorf("poll %d: only %d expected", n, len(c.polls))
						return "success"
					}
					return c.polls[n-1]
				},
			})
			term := newTerm(proof)
			if err := newHandler(t, api, nil).Acquire(t.Context(), term, netip.MustParseAddr(c.vip)); err != nil {
				t.Fatalf("Acquire: %v", err)
			}
			checkRequests(t, api, c.want...)
			// One fence (and so one Verify) for the listing (all its
			// pages), one for the assignment, one for the wait if any.
			wantVerifies := 2
			if len(c.polls) > 0 {
				wantVerifies = 3
			}
			if got := term.Verifies(); got != wantVerifies {
				t.Errorf("Verify called %d times, want %d", got, wantVerifies)
			}
		})
	}
}

func TestAcquireAlreadyOurs(t *testing.T) {
	for _, c := range []struct{ fip, vip string }{
		{"203.0.113.10", "203.0.113.10"},
		{"2001:db8:1:2::/64", "2001:db8:1:2::1"},
	} {
		t.Run(c.vip, func(t *testing.T) {
			api := newFakeAPI(t, &fakeAPI{FIPs: []floatingIP{{ID: 40, IP: "198.51.100.1", Server: 8}, {ID: 42, IP: c.fip, Server: 7}}})
			h := newHandler(t, api, nil)
			if err := h.Acquire(t.Context(), newTerm(proof), netip.MustParseAddr(c.vip)); err != nil {
				t.Fatalf("Acquire: %v", err)
			}
			checkRequests(t, api, list)
		})
	}
}

// TestAcquireTwice: a second Acquire finds the floating IP assigned by the
// first and does nothing more.
func TestAcquireTwice(t *testing.T) {
	api := newFakeAPI(t, &fakeAPI{FIPs: []floatingIP{{ID: 42, IP: "203.0.113.10", Server: 8}}, AssignTo: 7})
	h := newHandler(t, api, nil)
	for range 2 {
		if err := h.Acquire(t.Context(), newTerm(proof), netip.MustParseAddr("203.0.113.10")); err != nil {
			t.Fatalf("Acquire: %v", err)
		}
	}
	checkRequests(t, api, list, assignOf(42), poll, list)
}

func TestAcquireNoFloatingIP(t *testing.T) {
	fips := []floatingIP{
		{ID: 40, IP: "203.0.113.1", Server: 8},
		{ID: 41, IP: "2001:db8:1:2::/64", Server: 8},
	}
	for _, vipAddr := range []string{"203.0.113.99", "2001:db8:1:3::1", "::ffff:2001:db8", "::cb00:7101"} {
		t.Run(vipAddr, func(t *testing.T) {
			api := newFakeAPI(t, &fakeAPI{FIPs: fips})
			err := newHandler(t, api, nil).Acquire(t.Context(), newTerm(proof), netip.MustParseAddr(vipAddr))
			want := netip.MustParseAddr(vipAddr).Unmap().String()
			if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, netprim.ErrNotFound) {
				t.Fatalf("Acquire: %v; want an error naming %s, wrapping ErrNotFound", err, want)
			}
			checkRequests(t, api, list)
		})
	}
}

func TestAcquireAPIError(t *testing.T) {
	fip := floatingIP{ID: 42, IP: "203.0.113.10", Server: 8}
	for _, c := range []struct {
		name       string
		api        *fakeAPI
		want       []string // in the error
		permission bool     // wraps netprim.ErrPermission
		requests   []string
	}{
		{
			name:       "list unauthorized",
			api:        &fakeAPI{ListError: &apiError{http.StatusUnauthorized, "unauthorized", "unable to authenticate"}},
			want:       []string{"203.0.113.10", "unauthorized", "list floating IPs"},
			permission: true,
			requests:   []string{list},
		},
		{
			name:       "assign forbidden",
			api:        &fakeAPI{AssignTo: 7, AssignError: &apiError{http.StatusForbidden, "forbidden", "insufficient permissions"}},
			want:       []string{"floating IP 203.0.113.10", "id 42", "server 7", "forbidden", "insufficient permissions"},
			permission: true,
			requests:   []string{list, assignOf(42)},
		},
		{
			name:     "assign invalid input",
			api:      &fakeAPI{AssignTo: 7, AssignError: &apiError{http.StatusUnprocessableEntity, "invalid_input", "server is in another location"}},
			want:     []string{"floating IP 203.0.113.10", "id 42", "invalid_input", "server is in another location"},
			requests: []string{list, assignOf(42)},
		},
		{
			name:     "action failed",
			api:      &fakeAPI{AssignTo: 7, Poll: func(int) string { return "error" }},
			want:     []string{"floating IP 203.0.113.10", "id 42", "action 13", "action_failed"},
			requests: []string{list, assignOf(42), poll},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.api.FIPs = []floatingIP{fip}
			api := newFakeAPI(t, c.api)
			err := newHandler(t, api, nil).Acquire(t.Context(), newTerm(proof), netip.MustParseAddr("203.0.113.10"))
			if err == nil {
				t.Fatal("Acquire succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if got := errors.Is(err, netprim.ErrPermission); got != c.permission {
				t.Errorf("errors.Is(%v, ErrPermission) = %v, want %v", err, got, c.permission)
			}
			if errors.Is(err, vip.ErrNotLeader) {
				t.Errorf("error %v wraps ErrNotLeader", err)
			}
			checkRequests(t, api, c.requests...)
		})
	}
}

func TestAcquireServerIDFromMetadata(t *testing.T) {
	api := newFakeAPI(t, &fakeAPI{FIPs: []floatingIP{{ID: 42, IP: "203.0.113.10", Server: 8}}, AssignTo: 4711})
	md := newFakeMetadata(t, http.StatusOK, "4711\n")
	h := newHandler(t, api, func(o *hcloud.Options) { o.ServerID, o.MetadataEndpoint = 0, md.Endpoint() })
	for range 2 {
		if err := h.Acquire(t.Context(), newTerm(proof), netip.MustParseAddr("203.0.113.10")); err != nil {
			t.Fatalf("Acquire: %v", err)
		}
	}
	// The assignment carried server 4711 (the fake checks the body), the
	// second Acquire found it there, and the metadata was read once.
	checkRequests(t, api, list, assignOf(42), poll, list)
	if got := md.Reads(); got != 1 {
		t.Errorf("metadata service read %d times, want 1", got)
	}
}

func TestAcquireMetadataError(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		want   string
	}{
		{http.StatusNotFound, "not found", "404"},
		{http.StatusOK, "i-abc", `"i-abc" is not a server ID`},
		{http.StatusOK, "0", `"0" is not a server ID`},
	} {
		t.Run(c.want, func(t *testing.T) {
			api := newFakeAPI(t, &fakeAPI{})
			md := newFakeMetadata(t, c.status, c.body)
			h := newHandler(t, api, func(o *hcloud.Options) { o.ServerID, o.MetadataEndpoint = 0, md.Endpoint() })
			err := h.Acquire(t.Context(), newTerm(proof), netip.MustParseAddr("203.0.113.10"))
			if err == nil || !strings.Contains(err.Error(), "metadata") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Acquire: %v; want an error naming the metadata service and %s", err, c.want)
			}
			checkRequests(t, api)
		})
	}
}

// TestAcquireFenced: a term that does not provably lead gets no request to
// the API at all; one that stops leading after the listing gets no
// assignment.
func TestAcquireFenced(t *testing.T) {
	notLeader := func(int) error { return fmt.Errorf("backend: %w", vip.ErrNotLeader) }
	for _, c := range []struct {
		name     string
		term     func() *fakeTerm
		requests []string
	}{
		{"proof zero", func() *fakeTerm { tm := newTerm(0); tm.until = time.Time{}; return tm }, nil},
		{"proof ran out", func() *fakeTerm { return newTerm(-time.Second) }, nil},
		{"term ended", func() *fakeTerm { tm := newTerm(proof); tm.end(); return tm }, nil},
		{"done closed, proof still ahead", func() *fakeTerm { tm := newTerm(proof); close(tm.done); return tm }, nil},
		{"verify fails", func() *fakeTerm { tm := newTerm(proof); tm.VerifyErr = notLeader; return tm }, nil},
		{"verify fails after listing", func() *fakeTerm {
			tm := newTerm(proof)
			tm.VerifyErr = func(n int) error {
				if n > 1 {
					return notLeader(n)
				}
				return nil
			}
			return tm
		}, []string{list}},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := newFakeAPI(t, &fakeAPI{FIPs: []floatingIP{{ID: 42, IP: "203.0.113.10", Server: 8}}})
			err := newHandler(t, api, nil).Acquire(t.Context(), c.term(), netip.MustParseAddr("203.0.113.10"))
			if !errors.Is(err, vip.ErrNotLeader) {
				t.Fatalf("Acquire: %v; want an error wrapping ErrNotLeader", err)
			}
			checkRequests(t, api, c.requests...)
		})
	}
}

// TestAcquireWaitEnds: the wait for the assignment stops when the term's
// proof runs out without renewal, when the term ends, or when the caller's
// context ends; it goes on while the term is renewed.
func TestAcquireWaitEnds(t *testing.T) {
	fips := func() []floatingIP { return []floatingIP{{ID: 42, IP: "203.0.113.10", Server: 8}} }
	running := func(int) string { return "running" }
	addr := netip.MustParseAddr("203.0.113.10")

	t.Run("proof runs out", func(t *testing.T) {
		api := newFakeAPI(t, &fakeAPI{FIPs: fips(), AssignTo: 7, Poll: running})
		term := newTerm(300 * time.Millisecond)
		err := newHandler(t, api, nil).Acquire(t.Context(), term, addr)
		if !errors.Is(err, vip.ErrNotLeader) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Acquire: %v; want an error wrapping ErrNotLeader and DeadlineExceeded", err)
		}
		if !strings.Contains(err.Error(), "203.0.113.10") {
			t.Errorf("error %q does not name the floating IP", err)
		}
		if now := time.Now(); now.Before(term.ProvenUntil()) {
			t.Errorf("Acquire returned at %v, before the proof ran out at %v", now, term.ProvenUntil())
		}
		checkPrefix(t, api, list, assignOf(42), poll)
	})

	t.Run("term ends", func(t *testing.T) {
		// The term ends during the second poll, whose answer waits
		// until the handler gives the request up: it must do so when
		// the term ends, not when the proof runs out (20 s later).
		term := newTerm(20 * time.Second)
		api := newFakeAPI(t, &fakeAPI{FIPs: fips(), AssignTo: 7, PollWait: func(n int, r *http.Request) {
			if n == 2 {
				term.end()
				<-r.Context().Done()
			}
		}, Poll: running})
		err := newHandler(t, api, nil).Acquire(t.Context(), term, addr)
		if !errors.Is(err, vip.ErrNotLeader) || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Acquire: %v; want an error wrapping ErrNotLeader and not DeadlineExceeded", err)
		}
		checkPrefix(t, api, list, assignOf(42), poll, poll)
	})

	t.Run("caller cancels", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		api := newFakeAPI(t, &fakeAPI{FIPs: fips(), AssignTo: 7, Poll: func(n int) string {
			if n == 2 {
				cancel()
			}
			return "running"
		}})
		err := newHandler(t, api, nil).Acquire(ctx, newTerm(proof), addr)
		if !errors.Is(err, context.Canceled) || errors.Is(err, vip.ErrNotLeader) {
			t.Fatalf("Acquire: %v; want an error wrapping Canceled and not ErrNotLeader", err)
		}
		checkPrefix(t, api, list, assignOf(42), poll, poll)
	})

	t.Run("renewed while waiting", func(t *testing.T) {
		// Every request renews the term for 300 ms, so the proof the
		// wait started under runs out while later renewals hold; the
		// action finishes only once the wait was fenced a second time
		// (the fourth Verify: list, assign, wait, wait again).
		const renewal = 300 * time.Millisecond
		term := newTerm(renewal)
		api := newFakeAPI(t, &fakeAPI{FIPs: fips(), AssignTo: 7,
			OnRequest: func() { term.renew(renewal) },
			Poll: func(int) string {
				if term.Verifies() >= 4 {
					return "success"
				}
				return "running"
			},
		})
		if err := newHandler(t, api, nil).Acquire(t.Context(), term, addr); err != nil {
			t.Fatalf("Acquire: %v", err)
		}
		if got := term.Verifies(); got != 4 {
			t.Errorf("Verify called %d times, want 4", got)
		}
		checkPrefix(t, api, list, assignOf(42), poll)
	})
}

// checkPrefix checks that the API saw the requests want, then only polls.
func checkPrefix(t *testing.T, api *fakeAPI, want ...string) {
	t.Helper()
	got := api.Requests()
	if len(got) < len(want) {
		t.Errorf("API requests %q, want %q first", got, want)
		return
	}
	for i, r := range got {
		if i < len(want) && r != want[i] || i >= len(want) && r != poll {
			t.Errorf("API requests %q, want %q then only polls", got, want)
			return
		}
	}
}

func TestRelease(t *testing.T) {
	api := newFakeAPI(t, &fakeAPI{})
	if err := newHandler(t, api, nil).Release(t.Context(), netip.MustParseAddr("203.0.113.10")); err != nil {
		t.Errorf("Release: %v", err)
	}
	checkRequests(t, api)
}

func TestNew(t *testing.T) {
	for _, c := range []struct {
		name string
		o    hcloud.Options
		want string
	}{
		{"no token", hcloud.Options{}, "token"},
		{"token with line break", hcloud.Options{Token: "a\nb"}, "token"},
		{"negative server ID", hcloud.Options{Token: "t", ServerID: -1}, "serverID"},
		{"negative poll interval", hcloud.Options{Token: "t", PollInterval: -time.Second}, "pollInterval"},
		{"endpoint not http", hcloud.Options{Token: "t", Endpoint: "ftp://example.invalid"}, "endpoint"},
		{"endpoint relative", hcloud.Options{Token: "t", Endpoint: "/v1"}, "endpoint"},
		{"metadata endpoint with query", hcloud.Options{Token: "t", MetadataEndpoint: "http://127.0.0.1/?x=1"}, "metadataEndpoint"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, err := hcloud.New(c.o)
			if h != nil || err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, netprim.ErrInvalidSpec) {
				t.Fatalf("New: %v, %v; want an error naming %s, wrapping ErrInvalidSpec", h, err, c.want)
			}
		})
	}
}
