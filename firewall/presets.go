package firewall

import (
	"net/netip"
	"slices"
)

// Port tables the presets come from:
//
//   - [TalosConnectivity]: Talos Linux documentation, "Network
//     Connectivity": control plane nodes accept TCP 50000 (apid, from
//     talosctl and control plane nodes) and 50001 (trustd, from workers);
//     workers accept TCP 50000 (apid, from control plane nodes).
//   - [TalosDefaultPorts]: Talos Linux networking overview, "Firewall
//     Configuration / Default Ports": 50000 apid, 50001 trustd, 6443
//     Kubernetes API, 2379-2380 etcd (control plane only), 10250 kubelet
//     (cluster internal), 10256 kube-proxy (metrics); "rules are evaluated
//     in order, the first matching rule determines the action".
//   - [KubernetesPorts]: Kubernetes cluster networking (after
//     https://kubernetes.io/docs/reference/networking/ports-and-protocols/):
//     6443 kube-apiserver, 10250 kubelet, 10259 kube-scheduler, 10257
//     kube-controller-manager, 30000-32767 NodePort services, 2379 etcd
//     clients, 2380 etcd peers.
//   - [KubeSpanPort]: Talos KubeSpan, WireGuard on UDP 51820.
const (
	// TalosConnectivity is Talos' "Network Connectivity" port tables.
	TalosConnectivity = "Talos Linux docs: Network Connectivity"
	// TalosDefaultPorts is the "Default Ports" table of Talos' networking
	// overview.
	TalosDefaultPorts = "Talos Linux networking overview: Default Ports"
	// KubernetesPorts is Kubernetes' "Ports and Protocols" list.
	KubernetesPorts = "Kubernetes: Ports and Protocols"
	// KubeSpanPort is KubeSpan's WireGuard port.
	KubeSpanPort = "Talos KubeSpan: WireGuard UDP 51820"
)

// Service is a set of ports a node serves, as listed in a port table.
type Service struct {
	// Name becomes the rule name (with "-tcp"/"-udp" appended when the
	// service uses both protocols).
	Name string
	// Protocols are tcp and/or udp.
	Protocols []Protocol
	// Ports are ports or ranges as in Rule.Ports.
	Ports []string
	// Source names the port table the service comes from (one of the
	// constants above).
	Source string
}

// Rules returns rules accepting the service from subnets (one rule per
// protocol). With no subnets they accept from everywhere (0.0.0.0/0 and
// ::/0), explicitly.
func (s Service) Rules(subnets ...netip.Prefix) []Rule {
	if len(subnets) == 0 {
		subnets = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
	}
	var out []Rule
	for _, p := range s.Protocols {
		name := s.Name
		if len(s.Protocols) > 1 {
			name += "-" + string(p)
		}
		out = append(out, Rule{Name: name, Protocol: p, Ports: slices.Clone(s.Ports), Subnets: slices.Clone(subnets), Action: Accept})
	}
	return out
}

func tcp(name, source string, ports ...string) Service {
	return Service{Name: name, Protocols: []Protocol{TCP}, Ports: ports, Source: source}
}

// APID is the Talos API, TCP 50000 (TalosConnectivity, TalosDefaultPorts).
func APID() Service { return tcp("apid", TalosConnectivity, "50000") }

// Trustd is Talos' certificate service for joining nodes, TCP 50001
// (TalosConnectivity, TalosDefaultPorts).
func Trustd() Service { return tcp("trustd", TalosConnectivity, "50001") }

// KubeAPIServer is the Kubernetes API server, TCP 6443 (KubernetesPorts,
// TalosDefaultPorts).
func KubeAPIServer() Service { return tcp("kube-apiserver", KubernetesPorts, "6443") }

// Etcd is the etcd client and peer API, TCP 2379-2380 (TalosDefaultPorts,
// KubernetesPorts); control plane nodes only.
func Etcd() Service { return tcp("etcd", TalosDefaultPorts, "2379-2380") }

// Kubelet is the kubelet API, TCP 10250 (KubernetesPorts,
// TalosDefaultPorts).
func Kubelet() Service { return tcp("kubelet", KubernetesPorts, "10250") }

// KubeScheduler is kube-scheduler's secure port, TCP 10259
// (KubernetesPorts).
func KubeScheduler() Service { return tcp("kube-scheduler", KubernetesPorts, "10259") }

// KubeControllerManager is kube-controller-manager's secure port, TCP
// 10257 (KubernetesPorts).
func KubeControllerManager() Service {
	return tcp("kube-controller-manager", KubernetesPorts, "10257")
}

// KubeProxy is kube-proxy's health and metrics port, TCP 10256
// (TalosDefaultPorts).
func KubeProxy() Service { return tcp("kube-proxy", TalosDefaultPorts, "10256") }

// NodePorts is the NodePort service range, TCP and UDP 30000-32767
// (KubernetesPorts).
func NodePorts() Service {
	return Service{Name: "nodeport", Protocols: []Protocol{TCP, UDP}, Ports: []string{"30000-32767"}, Source: KubernetesPorts}
}

// KubeSpan is KubeSpan's WireGuard port, UDP 51820 (KubeSpanPort).
func KubeSpan() Service {
	return Service{Name: "kubespan", Protocols: []Protocol{UDP}, Ports: []string{"51820"}, Source: KubeSpanPort}
}

// ControlPlane returns the rules a control plane node needs: apid and the
// Kubernetes API from clients and cluster, everything else (trustd, etcd,
// kubelet, kube-scheduler, kube-controller-manager, kube-proxy) from the
// cluster only. Combine with a DefaultBlock Spec; add NodePorts or
// KubeSpan as needed.
func ControlPlane(cluster, clients []netip.Prefix) []Rule {
	both := slices.Concat(clients, cluster)
	return slices.Concat(
		APID().Rules(both...),
		KubeAPIServer().Rules(both...),
		Trustd().Rules(cluster...),
		Etcd().Rules(cluster...),
		Kubelet().Rules(cluster...),
		KubeScheduler().Rules(cluster...),
		KubeControllerManager().Rules(cluster...),
		KubeProxy().Rules(cluster...),
	)
}

// Worker returns the rules a worker node needs: apid, kubelet and
// kube-proxy from the cluster, NodePort services from clients and cluster.
func Worker(cluster, clients []netip.Prefix) []Rule {
	return slices.Concat(
		APID().Rules(cluster...),
		Kubelet().Rules(cluster...),
		KubeProxy().Rules(cluster...),
		NodePorts().Rules(slices.Concat(clients, cluster)...),
	)
}
