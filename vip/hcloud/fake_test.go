package hcloud_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim/vip"
	"github.com/netprim/netprim/vip/hcloud"
)

const testToken = "test-token-0123456789"

// floatingIP is one floating IP the fake API lists, as the Hetzner Cloud
// API documents it (GET /floating_ips).
type floatingIP struct {
	ID     int64
	IP     string // "203.0.113.10", or "2001:db8:1:2::/64" for IPv6
	Server int64  // 0: not assigned
}

func (f floatingIP) json() map[string]any {
	typ := "ipv4"
	if strings.Contains(f.IP, ":") {
		typ = "ipv6"
	}
	var server any
	if f.Server != 0 {
		server = f.Server
	}
	return map[string]any{
		"id":            f.ID,
		"name":          fmt.Sprintf("fip-%d", f.ID),
		"description":   nil,
		"ip":            f.IP,
		"type":          typ,
		"server":        server,
		"dns_ptr":       []any{},
		"home_location": map[string]any{"id": 1, "name": "fsn1", "country": "DE", "city": "Falkenstein", "network_zone": "eu-central"},
		"blocked":       false,
		"protection":    map[string]any{"delete": false},
		"labels":        map[string]any{},
		"created":       "2026-01-02T03:04:05+00:00",
	}
}

// fakeAPI is a Hetzner Cloud API on loopback that knows the three calls the
// handler may make: list floating IPs, assign one, poll an action. It checks
// every request (method, path, query, token, body) and fails the test on
// anything else.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	// FIPs are listed, PageSize to a page (0: all on one).
	FIPs     []floatingIP
	PageSize int
	// ListError, when set, is the status and JSON error of the list call.
	ListError *apiError
	// AssignTo is the server ID the assign call must carry; AssignError,
	// when set, is its answer instead of an action.
	AssignTo    int64
	AssignError *apiError
	// ActionStatus is the status of the action the assign call returns
	// ("running" or "success"); Poll gives the status of the n-th poll
	// (from 1): "running", "success" or "error".
	ActionStatus string
	Poll         func(n int) string
	// PollWait, when set, runs before the n-th poll is answered.
	PollWait func(n int, r *http.Request)
	// OnRequest, when set, runs before each request is answered.
	OnRequest func()

	mu       sync.Mutex
	log      []string
	polls    int
	assigned int64 // the floating IP of the last assign call
}

type apiError struct {
	Status  int
	Code    string
	Message string
}

const actionID = 13

func newFakeAPI(t *testing.T, f *fakeAPI) *fakeAPI {
	t.Helper()
	f.t = t
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// Endpoint is the API base URL, with a path like the real one's.
func (f *fakeAPI) Endpoint() string { return f.srv.URL + "/v1" }

// Requests returns "METHOD path" of every request so far.
func (f *fakeAPI) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.log = append(f.log, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	if f.OnRequest != nil {
		f.OnRequest()
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
		f.refuse(w, r, "Authorization header %q", got)
		return
	}
	if got := r.Header.Get("User-Agent"); !strings.HasPrefix(got, "netprim") {
		f.refuse(w, r, "User-Agent %q does not start with netprim", got)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/floating_ips":
		f.list(w, r)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/floating_ips/") && strings.HasSuffix(r.URL.Path, "/actions/assign"):
		f.assign(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/actions":
		f.poll(w, r)
	default:
		f.refuse(w, r, "no such call")
	}
}

// refuse fails the test and answers with an API error that the handler
// does not retry.
func (f *fakeAPI) refuse(w http.ResponseWriter, r *http.Request, format string, args ...any) {
	f.t.Errorf("fake API: unexpected request %s %s: %s", r.Method, r.URL, fmt.Sprintf(format, args...))
	writeJSON(w, http.StatusBadRequest, errorBody(apiError{Code: "invalid_input", Message: "unexpected request"}))
}

func (f *fakeAPI) wantQuery(w http.ResponseWriter, r *http.Request, want url.Values) bool {
	if diff := cmp.Diff(want, r.URL.Query()); diff != "" {
		f.refuse(w, r, "query (-want +got):\n%s", diff)
		return false
	}
	return true
}

func (f *fakeAPI) list(w http.ResponseWriter, r *http.Request) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if !f.wantQuery(w, r, url.Values{"page": {strconv.Itoa(page)}, "per_page": {"50"}}) || page < 1 {
		return
	}
	if f.ListError != nil {
		writeJSON(w, f.ListError.Status, errorBody(*f.ListError))
		return
	}
	f.mu.Lock()
	fips := append([]floatingIP(nil), f.FIPs...)
	f.mu.Unlock()
	size := f.PageSize
	if size == 0 {
		size = max(len(fips), 1)
	}
	last := max((len(fips)+size-1)/size, 1)
	items := []any{}
	for i := (page - 1) * size; i < min(page*size, len(fips)); i++ {
		items = append(items, fips[i].json())
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"floating_ips": items,
		"meta":         map[string]any{"pagination": pagination(page, 50, last, len(fips))},
	})
}

func (f *fakeAPI) assign(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/floating_ips/"), "/actions/assign"), 10, 64)
	if err != nil || f.AssignTo == 0 || !f.wantQuery(w, r, url.Values{}) {
		f.refuse(w, r, "no assign call expected or no floating IP id in the path")
		return
	}
	f.mu.Lock()
	known := slices.ContainsFunc(f.FIPs, func(fip floatingIP) bool { return fip.ID == id })
	f.mu.Unlock()
	if !known {
		f.refuse(w, r, "floating IP %d is not listed", id)
		return
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		f.refuse(w, r, "Content-Type %q", got)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		f.refuse(w, r, "body %q: %v", body, err)
		return
	}
	if diff := cmp.Diff(map[string]any{"server": float64(f.AssignTo)}, got); diff != "" {
		f.refuse(w, r, "body %s (-want +got):\n%s", body, diff)
		return
	}
	if f.AssignError != nil {
		writeJSON(w, f.AssignError.Status, errorBody(*f.AssignError))
		return
	}
	status := f.ActionStatus
	if status == "" {
		status = "running"
	}
	f.mu.Lock()
	for i := range f.FIPs {
		if f.FIPs[i].ID == id {
			f.FIPs[i].Server = f.AssignTo // as a later list shows it
		}
	}
	f.assigned = id
	f.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"action": action(status, id, f.AssignTo)})
}

func (f *fakeAPI) poll(w http.ResponseWriter, r *http.Request) {
	if !f.wantQuery(w, r, url.Values{"id": {strconv.Itoa(actionID)}, "page": {"1"}, "sort": {"status", "id"}}) {
		return
	}
	f.mu.Lock()
	f.polls++
	n := f.polls
	fip, server := f.assigned, f.AssignTo
	f.mu.Unlock()
	if f.PollWait != nil {
		f.PollWait(n, r)
	}
	status := "success"
	if f.Poll != nil {
		status = f.Poll(n)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"actions": []any{action(status, fip, server)},
		"meta":    map[string]any{"pagination": pagination(1, 25, 1, 1)},
	})
}

func action(status string, fip, server int64) map[string]any {
	a := map[string]any{
		"id":       actionID,
		"command":  "assign_floating_ip",
		"status":   status,
		"progress": 0,
		"started":  "2026-01-02T03:04:05+00:00",
		"finished": nil,
		"resources": []any{
			map[string]any{"id": fip, "type": "floating_ip"},
			map[string]any{"id": server, "type": "server"},
		},
		"error": nil,
	}
	switch status {
	case "success":
		a["progress"], a["finished"] = 100, "2026-01-02T03:04:06+00:00"
	case "error":
		a["progress"], a["finished"] = 100, "2026-01-02T03:04:06+00:00"
		a["error"] = map[string]any{"code": "action_failed", "message": "Action failed"}
	}
	return a
}

func pagination(page, perPage, last, total int) map[string]any {
	var prev, next any
	if page > 1 {
		prev = page - 1
	}
	if page < last {
		next = page + 1
	}
	return map[string]any{"page": page, "per_page": perPage, "previous_page": prev, "next_page": next, "last_page": last, "total_entries": total}
}

func errorBody(e apiError) map[string]any {
	return map[string]any{"error": map[string]any{"code": e.Code, "message": e.Message, "details": nil}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fakeMetadata is the server metadata service on loopback; it answers
// GET /hetzner/v1/metadata/instance-id with Body and Status.
type fakeMetadata struct {
	srv    *httptest.Server
	Status int
	Body   string

	mu    sync.Mutex
	reads int
}

func newFakeMetadata(t *testing.T, status int, body string) *fakeMetadata {
	t.Helper()
	m := &fakeMetadata{Status: status, Body: body}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.reads++
		m.mu.Unlock()
		if r.Method != http.MethodGet || r.URL.Path != "/hetzner/v1/metadata/instance-id" || r.URL.RawQuery != "" {
			t.Errorf("metadata service: unexpected request %s %s", r.Method, r.URL)
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "" {
			t.Errorf("metadata service: the API token was sent to it")
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(m.Status)
		_, _ = io.WriteString(w, m.Body)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

// Endpoint is the metadata base URL, with the real one's path.
func (m *fakeMetadata) Endpoint() string { return m.srv.URL + "/hetzner/v1/metadata" }

func (m *fakeMetadata) Reads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reads
}

// loopbackClient is an HTTP client that dials nothing but loopback: a
// request to any other address fails the test.
func loopbackClient(t *testing.T) *http.Client {
	t.Helper()
	dialer := &net.Dialer{}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				t.Errorf("dial %s %s: not loopback", network, addr)
				return nil, fmt.Errorf("test: refusing to dial %s", addr)
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// newHandler returns a handler for api with server ID 7 and a 2 ms poll
// interval; edit changes the options first.
func newHandler(t *testing.T, api *fakeAPI, edit func(*hcloud.Options)) *hcloud.Handler {
	t.Helper()
	o := hcloud.Options{
		Token:        testToken,
		ServerID:     7,
		Endpoint:     api.Endpoint(),
		HTTPClient:   loopbackClient(t),
		PollInterval: 2 * time.Millisecond,
	}
	if edit != nil {
		edit(&o)
	}
	h, err := hcloud.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// fakeTerm is a vip.Term under the test's control.
type fakeTerm struct {
	mu       sync.Mutex
	until    time.Time
	done     chan struct{}
	renewed  chan struct{}
	ended    bool
	verifies int
	// VerifyErr, when set, gives Verify's answer to its n-th call (from 1).
	VerifyErr func(n int) error
}

// newTerm returns a term proven for d from now.
func newTerm(d time.Duration) *fakeTerm {
	return &fakeTerm{until: time.Now().Add(d), done: make(chan struct{}), renewed: make(chan struct{}, 1)}
}

var _ vip.Term = (*fakeTerm)(nil)

func (f *fakeTerm) ID() string { return "fake-1" }

func (f *fakeTerm) ProvenUntil() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.until
}

func (f *fakeTerm) Renewed() <-chan struct{} { return f.renewed }
func (f *fakeTerm) Done() <-chan struct{}    { return f.done }

func (f *fakeTerm) Verify(ctx context.Context) error {
	f.mu.Lock()
	f.verifies++
	n, ended := f.verifies, f.ended
	f.mu.Unlock()
	if ended {
		return fmt.Errorf("fake term ended: %w", vip.ErrNotLeader)
	}
	if f.VerifyErr != nil {
		return f.VerifyErr(n)
	}
	return ctx.Err()
}

func (f *fakeTerm) Resign(context.Context) error { f.end(); return nil }

// Verifies counts the calls of Verify.
func (f *fakeTerm) Verifies() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.verifies
}

// renew moves ProvenUntil to d from now, as a successful renewal does.
func (f *fakeTerm) renew(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended {
		return
	}
	f.until = time.Now().Add(d)
	select {
	case f.renewed <- struct{}{}:
	default:
	}
}

// end ends the term: Done closes, ProvenUntil becomes zero.
func (f *fakeTerm) end() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.ended {
		f.ended = true
		f.until = time.Time{}
		close(f.done)
	}
}
