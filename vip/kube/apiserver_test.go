package kube

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var leasesResource = schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}

// apiserver is a strict stand-in for the API server's Lease storage, shared
// by the fake clientsets of several nodes. Unlike the fake clientset's own
// tracker it enforces optimistic concurrency as the API server does: each
// write bumps the object's resourceVersion, an update carrying another
// resourceVersion fails with Conflict, a create of an existing object
// with AlreadyExists. Reads return a snapshot after a random delay (0 to
// readDelay), so a client acts on a Lease that may have changed since;
// writes take a random 0-5 ms before and 0-10 ms after they are applied.
type apiserver struct {
	readDelay time.Duration

	mu     sync.Mutex
	rv     int64
	leases map[string]*coordinationv1.Lease // by namespace/name
	writes []write
}

// write is one applied write, in order.
type write struct {
	at          time.Time // when it was applied
	by          string    // the node whose client sent it
	holder      string    // spec.holderIdentity after it
	prevHolder  string    // spec.holderIdentity before it ("" when created)
	transitions int
	renew       time.Time // spec.renewTime after it
}

func newAPIServer(readDelay time.Duration) *apiserver {
	return &apiserver{readDelay: readDelay, leases: map[string]*coordinationv1.Lease{}}
}

// node is one candidate: its own fake clientset on the shared storage, which
// fails every request while down is set (the node is cut off).
type node struct {
	id     string
	down   atomic.Bool
	client *fake.Clientset
	e      *Elector
}

// newNode returns a node with an Elector on the Lease default/vip.
func (s *apiserver) newNode(t testing.TB, id string, o Options) *node {
	t.Helper()
	n := &node{id: id, client: fake.NewClientset()}
	n.client.PrependReactor("*", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if n.down.Load() {
			return true, nil, apierrors.NewServiceUnavailable("node " + id + " is cut off")
		}
		return s.serve(id, a)
	})
	e, err := New(n.client, "default", "vip", id, o)
	if err != nil {
		t.Fatal(err)
	}
	n.e = e
	return n
}

func (s *apiserver) serve(by string, a k8stesting.Action) (bool, runtime.Object, error) {
	switch a.GetVerb() {
	case "get":
		a := a.(k8stesting.GetAction)
		s.mu.Lock()
		l, ok := s.leases[a.GetNamespace()+"/"+a.GetName()]
		if ok {
			l = l.DeepCopy()
		}
		s.mu.Unlock()
		sleep(s.readDelay)
		if !ok {
			return true, nil, apierrors.NewNotFound(leasesResource, a.GetName())
		}
		return true, l, nil
	case "create":
		l := a.(k8stesting.CreateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		sleep(5 * time.Millisecond)
		s.mu.Lock()
		key := l.Namespace + "/" + l.Name
		if _, ok := s.leases[key]; ok {
			s.mu.Unlock()
			return true, nil, apierrors.NewAlreadyExists(leasesResource, l.Name)
		}
		s.apply(by, key, "", l)
		s.mu.Unlock()
		sleep(10 * time.Millisecond)
		return true, l.DeepCopy(), nil
	case "update":
		l := a.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		sleep(5 * time.Millisecond)
		s.mu.Lock()
		key := l.Namespace + "/" + l.Name
		old, ok := s.leases[key]
		if !ok {
			s.mu.Unlock()
			return true, nil, apierrors.NewNotFound(leasesResource, l.Name)
		}
		if l.ResourceVersion != old.ResourceVersion {
			s.mu.Unlock()
			return true, nil, apierrors.NewConflict(leasesResource, l.Name,
				fmt.Errorf("resourceVersion %q is not the stored %q", l.ResourceVersion, old.ResourceVersion))
		}
		s.apply(by, key, holderOf(old), l)
		s.mu.Unlock()
		sleep(10 * time.Millisecond)
		return true, l.DeepCopy(), nil
	default:
		return true, nil, errors.New("verb " + a.GetVerb() + " on leases not supported by the test API server")
	}
}

// apply stores l under key with a new resourceVersion; s.mu is held.
func (s *apiserver) apply(by, key, prevHolder string, l *coordinationv1.Lease) {
	s.rv++
	l.ResourceVersion = strconv.FormatInt(s.rv, 10)
	s.leases[key] = l
	tr := 0
	if l.Spec.LeaseTransitions != nil {
		tr = int(*l.Spec.LeaseTransitions)
	}
	var renew time.Time
	if l.Spec.RenewTime != nil {
		renew = l.Spec.RenewTime.Time
	}
	s.writes = append(s.writes, write{at: time.Now(), by: by, holder: holderOf(l), prevHolder: prevHolder, transitions: tr, renew: renew})
}

// put stores l as an operator would, bypassing the clients.
func (s *apiserver) put(l *coordinationv1.Lease) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apply("operator", l.Namespace+"/"+l.Name, holderOf(s.leases[l.Namespace+"/"+l.Name]), l.DeepCopy())
}

// get returns a copy of the stored Lease default/vip, nil when there is none.
func (s *apiserver) get() *coordinationv1.Lease {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.leases["default/vip"]; ok {
		return l.DeepCopy()
	}
	return nil
}

// log returns the writes applied so far.
func (s *apiserver) log() []write {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]write(nil), s.writes...)
}

func holderOf(l *coordinationv1.Lease) string {
	if l == nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func sleep(max time.Duration) {
	if max > 0 {
		time.Sleep(rand.N(max))
	}
}
