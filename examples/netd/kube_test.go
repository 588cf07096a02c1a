//go:build linux

package main

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
)

const (
	// kubeVIP is the shared IP of TestKubeSharedVIP's three nodes.
	kubeVIP = "10.89.0.50"
	// kubeLeaseName is the Lease netd elects kubeVIP's owner with:
	// "netd-vip-" and the address, its dots turned into dashes.
	kubeLeaseName = "netd-vip-10-89-0-50"
	// kubeTTL is the election's TTL.
	kubeTTL = 4 * time.Second
	// kubeLeases is the collection of Leases of netd's namespace.
	kubeLeases = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"
)

// TestKubeSharedVIP runs three netd processes with --kubeconfig, each on
// its own node namespace (eth0 a port of bridge br0 in a lan namespace),
// with the same shared IP, elected over a Lease (TTL 4 s) kept by a fake
// API server on 127.0.0.1 that enforces optimistic concurrency and fails
// the test on any request it does not expect. Every node's addresses are
// sampled every 2 ms. Exactly one node holds the address and the Lease
// names it, renewed by it for more than two TTLs; SIGTERM of the owner
// releases the Lease and another node takes both over, twice; SIGTERM of
// the last leaves the Lease released and no node with the address. No two
// nodes are ever seen holding the address at once, no node is seen
// holding it while the Lease names another, and each node writes only its
// own name into the Lease and releases only its own tenure.
func TestKubeSharedVIP(t *testing.T) {
	needRoot(t)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	nodes := sharedIPNodes(t, 3)
	var ids []string // each node's identity in the election
	for _, n := range nodes {
		ids = append(ids, host+"/"+n.Name)
	}
	api := startFakeKube(t, len(nodes))
	vip := netip.MustParseAddr(kubeVIP)
	s := sampleHolders(t, nodes, "eth0", vip, 2*time.Millisecond)
	procs := make([]*proc, len(nodes))
	for i, n := range nodes {
		kubeconfig := writeKubeconfig(t, api, api.token(i))
		procs[i] = startNetd(t, "--netns", n.Name, "--root", t.TempDir(), "-f", writeConfig(t, sharedIPConfig(kubeVIP, i+1)),
			"--kubeconfig", kubeconfig, "--election-ttl", kubeTTL.String())
	}
	for _, p := range procs {
		p.waitLine("netd: keeping", 30*time.Second)
	}

	owner := s.waitOneHolder(t, nil, 30*time.Second)
	procs[owner].waitLine("vip "+kubeVIP+": acquired", 10*time.Second)
	if h := api.holder(); h != ids[owner] {
		t.Errorf("node %d holds %s; the Lease names %q, want %q", owner+1, vip, h, ids[owner])
	}
	t.Logf("node %d holds %s", owner+1, vip)

	// It keeps the Lease, renewing it, for longer than two TTLs.
	from, to := api.waitTenure(t, ids[owner], 2*kubeTTL, 30*time.Second)
	t.Logf("node %d renewed the Lease from %s to %s", owner+1, from.Format("15:04:05.000"), to.Format("15:04:05.000"))

	// SIGTERM of the owner, twice: it removes the address and releases the
	// Lease; another node takes both over.
	var gone []int
	for range 2 {
		stopped := time.Now()
		took := stopHolder(t, procs[owner], nodes[owner], owner, kubeVIP)
		if !api.releasedBy(owner, stopped) {
			t.Errorf("node %d exited on SIGTERM without releasing the Lease; writes since the signal:\n%s",
				owner+1, api.describe(stopped))
		}
		gone = append(gone, owner)
		next := s.waitOneHolder(t, gone, 30*time.Second)
		procs[next].waitLine("vip "+kubeVIP+": acquired", 10*time.Second)
		if h := api.holder(); h != ids[next] {
			t.Errorf("node %d took %s over; the Lease names %q, want %q", next+1, vip, h, ids[next])
		}
		t.Logf("SIGTERM of node %d: exit after %v; node %d acquired %v after the signal",
			owner+1, took, next+1, s.firstSeen(next, stopped).Sub(stopped))
		owner = next
	}

	stopped := time.Now()
	stopHolder(t, procs[owner], nodes[owner], owner, kubeVIP)
	if h := api.holder(); h != "" {
		t.Errorf("every netd stopped; the Lease names %q, want it released\nwrites since the last signal:\n%s",
			h, api.describe(stopped))
	}
	spans := s.check(t)
	checkNoHolder(t, nodes, kubeVIP)
	api.checkWrites(t, ids, spans)
	c := api.counts()
	t.Logf("API server: %d reads, %d writes, %d conflicts, %d creates of an existing Lease; answers by media type %v",
		c.reads, len(api.log()), c.conflicts, c.exists, c.media)
}

// fakeKube is a minimal Kubernetes API server for netd's elections: the
// Leases of namespace kube-system, of which it keeps the one named
// kubeLeaseName, in JSON or protobuf (client-go sends protobuf for
// built-in types and accepts either), by the request's Content-Type and
// Accept as the real one negotiates them. Like the real one it bumps the
// resourceVersion on every write, refuses an update carrying another
// resourceVersion with 409 Conflict, a create of an existing Lease with
// 409 AlreadyExists, and answers a read of a missing one with 404
// NotFound, each a metav1.Status. Each node has its own bearer token, by
// which the server knows who wrote what. Any other request is answered
// with an error and fails the test.
type fakeKube struct {
	*httptest.Server
	tokens map[string]int // bearer token -> node
	codecs serializer.CodecFactory

	mu         sync.Mutex
	rv         int64
	lease      *coordinationv1.Lease // nil until created
	writes     []leaseWrite
	n          kubeCounts
	unexpected []string
}

// leaseWrite is one write the server applied.
type leaseWrite struct {
	at          time.Time // when it was applied
	by          int       // the node that sent it
	holder      string    // spec.holderIdentity after it
	transitions int32
}

type kubeCounts struct {
	reads, conflicts, exists int
	media                    map[string]int // requests by media type of the answer
}

var leasesResource = schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}

// startFakeKube starts the server on 127.0.0.1 (HTTPS: client-go sends
// a token only over TLS) with a token per node; it is closed when the test
// ends, after the processes the test started after it, and fails the test
// then if it answered an unexpected request.
func startFakeKube(t *testing.T, nodes int) *fakeKube {
	scheme := runtime.NewScheme()
	if err := coordinationv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	k := &fakeKube{tokens: map[string]int{}, codecs: serializer.NewCodecFactory(scheme), n: kubeCounts{media: map[string]int{}}}
	for i := range nodes {
		k.tokens[fmt.Sprintf("token-of-node-%d", i+1)] = i
	}
	k.Server = httptest.NewTLSServer(k)
	t.Cleanup(func() {
		k.Close()
		u := k.unexpectedRequests()
		if len(u) > 10 {
			u = append(u[:10], fmt.Sprintf("and %d more", len(u)-10))
		}
		if len(u) > 0 {
			t.Errorf("fake API server: unexpected requests:\n  %s", strings.Join(u, "\n  "))
		}
	})
	return k
}

// token returns node's bearer token.
func (k *fakeKube) token(node int) string {
	for tok, n := range k.tokens {
		if n == node {
			return tok
		}
	}
	panic("no token for node " + strconv.Itoa(node))
}

// kubeReply answers a request in its negotiated media type.
type kubeReply struct {
	w    http.ResponseWriter
	info runtime.SerializerInfo
	k    *fakeKube
}

func (re kubeReply) object(code int, obj runtime.Object) {
	enc := re.k.codecs.EncoderForVersion(re.info.Serializer, coordinationv1.SchemeGroupVersion)
	var b bytes.Buffer
	if err := enc.Encode(obj, &b); err != nil {
		http.Error(re.w, err.Error(), http.StatusInternalServerError)
		return
	}
	re.w.Header().Set("Content-Type", re.info.MediaType)
	re.w.WriteHeader(code)
	re.w.Write(b.Bytes())
}

func (re kubeReply) status(err *apierrors.StatusError) {
	st := err.ErrStatus
	re.object(int(st.Code), &st)
}

// ServeHTTP answers GET and PUT of the Lease kubeLeaseName and POST of
// Leases, in namespace kube-system, for the nodes' tokens.
func (k *fakeKube) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	re := kubeReply{w: w, k: k}
	var why string
	re.info, why = k.negotiate(r.Header.Get("Accept"))
	if why != "" {
		k.reject(re, r, why, apierrors.NewGenericServerResponse(http.StatusNotAcceptable, r.Method, leasesResource, "", why, 0, false))
		return
	}
	k.mu.Lock()
	k.n.media[re.info.MediaType]++
	k.mu.Unlock()
	by, known := k.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !known {
		k.reject(re, r, fmt.Sprintf("no known bearer token (Authorization %q)", r.Header.Get("Authorization")),
			apierrors.NewUnauthorized("unknown bearer token"))
		return
	}
	for q := range r.URL.Query() {
		if q != "timeout" {
			k.reject(re, r, "query parameter "+q, apierrors.NewBadRequest("unexpected query parameter "+q))
			return
		}
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == kubeLeases+"/"+kubeLeaseName:
		k.get(re)
	case r.Method == http.MethodPost && r.URL.Path == kubeLeases:
		k.create(re, r, by)
	case r.Method == http.MethodPut && r.URL.Path == kubeLeases+"/"+kubeLeaseName:
		k.update(re, r, by)
	default:
		k.reject(re, r, "", apierrors.NewNotFound(schema.GroupResource{}, r.URL.Path))
	}
}

// negotiate picks the answer's media type from an Accept header: the first
// one the server speaks; "*/*" is JSON. It returns JSON and why not when
// there is none.
func (k *fakeKube) negotiate(accept string) (runtime.SerializerInfo, string) {
	json, _ := runtime.SerializerInfoForMediaType(k.codecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	for _, a := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(a))
		if err != nil {
			continue
		}
		if mt == "*/*" {
			return json, ""
		}
		if info, ok := runtime.SerializerInfoForMediaType(k.codecs.SupportedMediaTypes(), mt); ok {
			return info, ""
		}
	}
	return json, fmt.Sprintf("Accept %q names no media type the server speaks", accept)
}

func (k *fakeKube) get(re kubeReply) {
	k.mu.Lock()
	k.n.reads++
	l := k.lease.DeepCopy()
	k.mu.Unlock()
	if l == nil {
		re.status(apierrors.NewNotFound(leasesResource, kubeLeaseName))
		return
	}
	re.object(http.StatusOK, l)
}

func (k *fakeKube) create(re kubeReply, r *http.Request, by int) {
	l, err := k.decode(r)
	if err == nil && l.Name != kubeLeaseName {
		err = fmt.Errorf("creates Lease %q", l.Name)
	}
	if err == nil && (l.ResourceVersion != "" || l.UID != "") {
		err = fmt.Errorf("creates a Lease with resourceVersion %q, uid %q", l.ResourceVersion, l.UID)
	}
	if err != nil {
		k.reject(re, r, err.Error(), apierrors.NewBadRequest(err.Error()))
		return
	}
	k.mu.Lock()
	if k.lease != nil {
		k.n.exists++
		k.mu.Unlock()
		re.status(apierrors.NewAlreadyExists(leasesResource, l.Name))
		return
	}
	l.UID = types.UID("uid-" + kubeLeaseName)
	l.CreationTimestamp = metav1.Now()
	out := k.apply(by, l)
	k.mu.Unlock()
	re.object(http.StatusCreated, out)
}

func (k *fakeKube) update(re kubeReply, r *http.Request, by int) {
	l, err := k.decode(r)
	if err == nil && l.Name != kubeLeaseName {
		err = fmt.Errorf("updates Lease %q at %s", l.Name, r.URL.Path)
	}
	if err == nil && l.ResourceVersion == "" {
		err = errors.New("updates the Lease without a resourceVersion")
	}
	if err != nil {
		k.reject(re, r, err.Error(), apierrors.NewBadRequest(err.Error()))
		return
	}
	k.mu.Lock()
	switch {
	case k.lease == nil:
		k.mu.Unlock()
		re.status(apierrors.NewNotFound(leasesResource, l.Name))
		return
	case l.ResourceVersion != k.lease.ResourceVersion:
		k.n.conflicts++
		k.mu.Unlock()
		re.status(apierrors.NewConflict(leasesResource, l.Name,
			errors.New("the object has been modified; please apply your changes to the latest version and try again")))
		return
	case l.UID != "" && l.UID != k.lease.UID:
		k.mu.Unlock()
		k.reject(re, r, "uid "+string(l.UID), apierrors.NewConflict(leasesResource, l.Name, errors.New("uid mismatch")))
		return
	}
	l.UID, l.CreationTimestamp = k.lease.UID, k.lease.CreationTimestamp
	out := k.apply(by, l)
	k.mu.Unlock()
	re.object(http.StatusOK, out)
}

// decode reads a Lease of namespace kube-system from a request body in
// the media type of its Content-Type (JSON strictly: no unknown or
// duplicate fields).
func (k *fakeKube) decode(r *http.Request) (*coordinationv1.Lease, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("body of type %q", r.Header.Get("Content-Type"))
	}
	info, ok := runtime.SerializerInfoForMediaType(k.codecs.SupportedMediaTypes(), mt)
	if !ok {
		return nil, fmt.Errorf("body of type %q", mt)
	}
	dec := info.Serializer
	if info.StrictSerializer != nil {
		dec = info.StrictSerializer
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("body: %v", err)
	}
	var l coordinationv1.Lease
	_, gvk, err := dec.Decode(body, nil, &l)
	if err != nil {
		return nil, fmt.Errorf("%s body: %v", mt, err)
	}
	if want := coordinationv1.SchemeGroupVersion.WithKind("Lease"); *gvk != want {
		return nil, fmt.Errorf("%s body of kind %v, want %v", mt, gvk, want)
	}
	if l.Namespace != "" && l.Namespace != kubeNamespace {
		return nil, fmt.Errorf("body in namespace %q", l.Namespace)
	}
	l.Namespace = kubeNamespace
	return &l, nil
}

// apply stores l with the next resourceVersion and returns a copy to
// answer with; k.mu is held.
func (k *fakeKube) apply(by int, l *coordinationv1.Lease) *coordinationv1.Lease {
	k.rv++
	l.ResourceVersion = strconv.FormatInt(k.rv, 10)
	k.lease = l
	w := leaseWrite{at: time.Now(), by: by}
	if l.Spec.HolderIdentity != nil {
		w.holder = *l.Spec.HolderIdentity
	}
	if l.Spec.LeaseTransitions != nil {
		w.transitions = *l.Spec.LeaseTransitions
	}
	k.writes = append(k.writes, w)
	return l.DeepCopy()
}

// reject answers a request the server does not expect with st, and
// records it.
func (k *fakeKube) reject(re kubeReply, r *http.Request, why string, st *apierrors.StatusError) {
	desc := r.Method + " " + r.URL.RequestURI()
	if why != "" {
		desc += ": " + why
	}
	k.mu.Lock()
	k.unexpected = append(k.unexpected, desc)
	k.mu.Unlock()
	re.status(st)
}

func (k *fakeKube) unexpectedRequests() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.unexpected...)
}

// holder returns the holder the Lease names, "" when it names none or does
// not exist.
func (k *fakeKube) holder() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.lease == nil || k.lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *k.lease.Spec.HolderIdentity
}

func (k *fakeKube) log() []leaseWrite {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]leaseWrite(nil), k.writes...)
}

func (k *fakeKube) counts() kubeCounts {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.n
	c.media = maps.Clone(c.media)
	return c
}

// releasedBy reports whether node wrote a Lease naming no holder after
// since.
func (k *fakeKube) releasedBy(node int, since time.Time) bool {
	for _, w := range k.log() {
		if w.at.After(since) && w.by == node && w.holder == "" {
			return true
		}
	}
	return false
}

// waitTenure waits until the Lease has named holder, written by holder
// without another write in between, for at least span, and returns the
// first and last of those writes' times.
func (k *fakeKube) waitTenure(t testing.TB, holder string, span, within time.Duration) (time.Time, time.Time) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var from time.Time
		for _, w := range k.log() {
			switch {
			case w.holder != holder:
				from = time.Time{}
			case from.IsZero():
				from = w.at
			case w.at.Sub(from) >= span:
				return from, w.at
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Lease did not name %q for %v within %v; writes:\n%s", holder, span, within, k.describe(time.Time{}))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// describe lists the writes after since, one a line.
func (k *fakeKube) describe(since time.Time) string {
	var b strings.Builder
	for _, w := range k.log() {
		if w.at.After(since) {
			fmt.Fprintf(&b, "  %s by node %d: holder %q, transitions %d\n", w.at.Format("15:04:05.000"), w.by+1, w.holder, w.transitions)
		}
	}
	return b.String()
}

// checkWrites fails the test unless every write naming a holder was sent
// by that holder, every release (no holder) by the node the Lease named
// before it, each stretch in which a node was seen holding the address
// began while the Lease named that node, and no write named another
// holder during such a stretch.
func (k *fakeKube) checkWrites(t *testing.T, ids []string, spans [][]holdSpan) {
	t.Helper()
	log := k.log()
	prev := ""
	for _, w := range log {
		switch {
		case w.holder != "" && w.holder != ids[w.by]:
			t.Errorf("node %d wrote holder %q into the Lease at %s", w.by+1, w.holder, w.at.Format("15:04:05.000"))
		case w.holder == "" && prev != ids[w.by]:
			t.Errorf("node %d released the Lease held by %q at %s", w.by+1, prev, w.at.Format("15:04:05.000"))
		}
		prev = w.holder
	}
	for i, ss := range spans {
		for _, sp := range ss {
			named := ""
			for _, w := range log {
				if w.at.Before(sp.from) && w.holder != "" {
					named = w.holder
				}
				if w.holder != "" && w.holder != ids[i] && !w.at.Before(sp.from) && !w.at.After(sp.to) {
					t.Errorf("the Lease named %q at %s while node %d held the address [%s, %s]", w.holder,
						w.at.Format("15:04:05.000"), i+1, sp.from.Format("15:04:05.000"), sp.to.Format("15:04:05.000"))
				}
			}
			if named != ids[i] {
				t.Errorf("node %d was seen holding the address at %s; the Lease named %q", i+1, sp.from.Format("15:04:05.000"), named)
			}
		}
	}
}

// writeKubeconfig writes a kubeconfig for k (its URL, its certificate as
// the cluster's authority) with a bearer token and returns its path.
func writeKubeconfig(t testing.TB, k *fakeKube, token string) string {
	t.Helper()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Certificate().Raw})
	f := filepath.Join(t.TempDir(), "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
  - name: fake
    cluster:
      server: %s
      certificate-authority-data: %s
users:
  - name: netd
    user:
      token: %s
contexts:
  - name: fake
    context:
      cluster: fake
      user: netd
current-context: fake
`, k.URL, base64.StdEncoding.EncodeToString(ca), token)
	if err := os.WriteFile(f, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}
