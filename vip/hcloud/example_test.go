package hcloud_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/netprim/netprim/vip/hcloud"
)

// leadingTerm stands in for the vip.Term that an Elector's Campaign
// returns: it leads, proven for a minute.
type leadingTerm struct{ until time.Time }

func (t leadingTerm) ID() string                   { return "example" }
func (t leadingTerm) ProvenUntil() time.Time       { return t.until }
func (t leadingTerm) Renewed() <-chan struct{}     { return nil }
func (t leadingTerm) Done() <-chan struct{}        { return nil }
func (t leadingTerm) Verify(context.Context) error { return nil }
func (t leadingTerm) Resign(context.Context) error { return nil }

// Server 7 wins the election of 203.0.113.10 and takes over the floating IP
// from server 8. A stand-in for the Hetzner Cloud API on loopback answers;
// in a program, Endpoint and ServerID stay unset (the real API, the ID from
// the metadata service).
func Example() {
	var owner atomic.Int64
	owner.Store(8)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/floating_ips", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"floating_ips": [{"id": 42, "ip": "203.0.113.10", "type": "ipv4", "server": %d}],
			"meta": {"pagination": {"page": 1, "last_page": 1, "next_page": null}}}`, owner.Load())
	})
	mux.HandleFunc("POST /v1/floating_ips/42/actions/assign", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Server int64 }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		owner.Store(body.Server)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"action": {"id": 13, "command": "assign_floating_ip", "status": "success"}}`)
	})
	api := httptest.NewServer(mux)
	defer api.Close()

	h, err := hcloud.New(hcloud.Options{Token: "project-token", ServerID: 7, Endpoint: api.URL + "/v1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	term := leadingTerm{until: time.Now().Add(time.Minute)}
	if err := h.Acquire(context.Background(), term, netip.MustParseAddr("203.0.113.10")); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h.Name()+": floating IP 42 is on server", owner.Load())
	// Output: hcloud: floating IP 42 is on server 7
}
