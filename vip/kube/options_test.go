package kube

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/vip"
)

func TestOptionsDefaults(t *testing.T) {
	for _, tc := range []struct {
		in, want Options
	}{
		{Options{}, Options{TTL: vip.DefaultTTL, RenewDeadline: vip.DefaultTTL * 2 / 3, RetryPeriod: vip.DefaultTTL / 8, Margin: DefaultMargin}},
		{Options{TTL: 4 * time.Second}, Options{TTL: 4 * time.Second, RenewDeadline: 4 * time.Second * 2 / 3, RetryPeriod: 500 * time.Millisecond, Margin: DefaultMargin}},
		{Options{TTL: 5 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: time.Second, Margin: 500 * time.Millisecond},
			Options{TTL: 5 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: time.Second, Margin: 500 * time.Millisecond}},
	} {
		got, err := tc.in.normalize()
		if err != nil {
			t.Errorf("%+v: %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(Options{}, "Logger")); diff != "" {
			t.Errorf("%+v: (-want +got)\n%s", tc.in, diff)
		}
		// Normalizing twice changes nothing.
		again, err := got.normalize()
		if err != nil || again != got {
			t.Errorf("normalize(%+v) = %+v, %v", got, again, err)
		}
	}
}

func TestNewInvalid(t *testing.T) {
	client := fake.NewClientset()
	for _, tc := range []struct {
		name                string
		nilClient           bool
		ns, lease, identity string
		o                   Options
		field               string
	}{
		{name: "nil client", nilClient: true, field: "client"},
		{name: "empty namespace", ns: "-", field: "namespace"},
		{name: "bad namespace", ns: "Kube_System", field: "namespace"},
		{name: "bad name", lease: "vip/1", field: "name"},
		{name: "empty identity", identity: "-", field: "identity"},
		{name: "ttl below minimum", o: Options{TTL: time.Second}, field: "ttl"},
		{name: "ttl fractional", o: Options{TTL: 4500 * time.Millisecond}, field: "ttl"},
		{name: "ttl too short for the address's lifetime", o: Options{TTL: 3 * time.Second}, field: "ttl"},
		{name: "renew deadline negative", o: Options{RenewDeadline: -1}, field: "renewDeadline"},
		{name: "renew deadline not below ttl", o: Options{TTL: 4 * time.Second, RenewDeadline: 4 * time.Second}, field: "renewDeadline"},
		{name: "retry period negative", o: Options{RetryPeriod: -1}, field: "retryPeriod"},
		{name: "retry period too long", o: Options{TTL: 4 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 2 * time.Second}, field: "retryPeriod"},
		{name: "margin negative", o: Options{Margin: -1}, field: "margin"},
		{name: "margin leaves too short a proof", o: Options{TTL: 4 * time.Second, Margin: 2600 * time.Millisecond}, field: "margin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c kubernetes.Interface = client
			ns, lease, id := "default", "vip", "node-a"
			if tc.nilClient {
				c = nil
			}
			if tc.ns != "" {
				ns = strings.TrimPrefix(tc.ns, "-")
			}
			if tc.lease != "" {
				lease = tc.lease
			}
			if tc.identity != "" {
				id = strings.TrimPrefix(tc.identity, "-")
			}
			e, err := New(c, ns, lease, id, tc.o)
			if !errors.Is(err, netprim.ErrInvalidSpec) {
				t.Fatalf("New = %v, %v; want an error wrapping ErrInvalidSpec", e, err)
			}
			if !strings.Contains(err.Error(), tc.field+":") {
				t.Errorf("error %q does not name field %s", err, tc.field)
			}
			t.Log(err)
		})
	}
}
