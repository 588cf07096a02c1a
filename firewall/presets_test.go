package firewall

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPresets(t *testing.T) {
	ports := map[string]string{}
	for _, s := range []Service{APID(), Trustd(), KubeAPIServer(), Etcd(), Kubelet(), KubeScheduler(), KubeControllerManager(), KubeProxy(), NodePorts(), KubeSpan()} {
		if s.Source == "" {
			t.Errorf("%s cites no port table", s.Name)
		}
		var protos []string
		for _, p := range s.Protocols {
			protos = append(protos, string(p))
		}
		ports[s.Name] = strings.Join(protos, "+") + " " + strings.Join(s.Ports, ",")
	}
	want := map[string]string{
		"apid": "tcp 50000", "trustd": "tcp 50001", "kube-apiserver": "tcp 6443", "etcd": "tcp 2379-2380",
		"kubelet": "tcp 10250", "kube-scheduler": "tcp 10259", "kube-controller-manager": "tcp 10257",
		"kube-proxy": "tcp 10256", "nodeport": "tcp+udp 30000-32767", "kubespan": "udp 51820",
	}
	if diff := cmp.Diff(want, ports); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	cluster, clients := pfxs("10.0.0.0/8", "fd00::/8"), pfxs("192.0.2.0/24")
	cp := Spec{DefaultAction: DefaultBlock, Rules: append(ControlPlane(cluster, clients), KubeSpan().Rules(cluster...)...)}
	if err := cp.Validate(); err != nil {
		t.Fatal(err)
	}
	w := Spec{DefaultAction: DefaultBlock, Rules: Worker(cluster, clients)}
	if err := w.Validate(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range w.Rules {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, ","); got != "apid,kubelet,kube-proxy,nodeport-tcp,nodeport-udp" {
		t.Errorf("worker rules %s", got)
	}
	if got := cp.Rules[0].Subnets; len(got) != 3 {
		t.Errorf("apid subnets %v, want clients and cluster", got)
	}
	open := KubeAPIServer().Rules()
	if len(open[0].Subnets) != 2 || open[0].Subnets[0].Bits() != 0 {
		t.Errorf("no subnets should mean 0.0.0.0/0 and ::/0 explicitly: %v", open[0].Subnets)
	}
}
