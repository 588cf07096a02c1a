package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/reconcile"
	"github.com/netprim/netprim/route"
	"github.com/netprim/netprim/selector"
)

// netConfig is what netd keeps applied, read from a Talos machine
// configuration (see FIELDS.md for every field and what it maps to).
type netConfig struct {
	// State is the static part: links (an interface chosen by
	// deviceSelector is a Links entry with DeviceSelector), bonds, VLANs,
	// bridges, WireGuard devices, addresses, routes, the firewall,
	// resolvers, hosts and the host name. It passes State.Validate.
	State reconcile.State
	// DHCP are the links that run DHCP clients.
	DHCP []dhcpLink
	// VIPs are the shared IPs.
	VIPs []vipLink
	// Bound are the objects on a device chosen by deviceSelector that
	// need its name, which is known only at run time: its addresses and
	// routes, its bridgePort, and everything on its VLANs but the VLAN
	// link itself (a VLAN link is in State.VLANs with ParentSelector).
	// Empty unless the configuration has such objects; resolve puts them
	// into State, DHCP and VIPs once the devices are listed.
	Bound []boundLink
}

// dhcpLink is one link with "dhcp: true".
type dhcpLink struct {
	// Link is the link name; empty when Selector is set.
	Link string
	// Selector is the interface's deviceSelector, resolved by the daemon
	// at run time.
	Selector *selector.Selector
	// IPv4 and IPv6 are dhcpOptions.ipv4 (Talos' default true) and
	// dhcpOptions.ipv6 (default false): which clients to run.
	IPv4, IPv6 bool
	// RouteMetric is dhcpOptions.routeMetric, the metric of the routes a
	// lease gives (0: dhcp.DefaultRouteMetric, 1024 as in Talos).
	RouteMetric uint32
	// DUIDv6 is dhcpOptions.duidv6, the DHCPv6 client's DUID (raw);
	// empty: a DUID-LL of the link's address.
	DUIDv6 []byte
}

// vipLink is one shared IP ("vip").
type vipLink struct {
	// Link is the link name; empty when Selector is set.
	Link string
	// Selector is the interface's deviceSelector, resolved by the daemon
	// at run time.
	Selector *selector.Selector
	// Address is vip.ip.
	Address netip.Addr
	// HCloudToken is vip.hcloud.apiToken: a Hetzner Cloud floating IP
	// follows the owner. Empty: layer 2 only (gratuitous ARP / NA).
	HCloudToken string
}

// boundLink holds the objects on a device chosen by a deviceSelector, or
// on one of its VLANs, that need the device's name.
type boundLink struct {
	// Path is where the interface is in the configuration, for errors.
	Path string
	// Selector chooses the device.
	Selector *selector.Selector
	// VLAN is 0 for the device itself, otherwise the VLAN id of the VLAN
	// link on it, named as Talos names it (vlanLinkName).
	VLAN int
	// Addresses and Routes have Link empty; resolve sets it.
	Addresses []addr.Spec
	Routes    []route.Spec
	// BridgeMaster is the selected device's bridgePort.master.
	BridgeMaster string
	// DHCP and VIP are the VLAN's dhcp and vip (VLAN > 0 only: those of
	// the device itself are in netConfig.DHCP and VIPs with Selector).
	DHCP *dhcpLink
	VIP  *vipLink
}

// maxConfigSize bounds the configuration file.
const maxConfigSize = reconcile.MaxDocumentSize

// loadConfig reads the configuration file at path (see parseConfig).
// Errors of reading name the file; errors in its content do not (the
// caller adds the file name).
func loadConfig(path string) (*netConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("larger than %d bytes", maxConfigSize)
	}
	return parseConfig(data)
}

// Document kinds netd reads besides the v1alpha1 machine configuration.
const (
	kindDefaultAction = "NetworkDefaultActionConfig"
	kindRule          = "NetworkRuleConfig"
	kindKubeSpan      = "KubeSpanConfig"
)

// ignoredKinds are Talos document kinds that configure nothing of the
// node's network: netd skips them, so that a whole Talos machine
// configuration can be given as it is.
var ignoredKinds = map[string]bool{
	// block and storage
	"ExistingVolumeConfig": true, "ExternalVolumeConfig": true, "FilesystemScrubConfig": true,
	"FilesystemTrimConfig": true, "RawVolumeConfig": true, "SwapVolumeConfig": true,
	"UserVolumeConfig": true, "VolumeConfig": true, "ZswapConfig": true,
	"LVMLogicalVolumeConfig": true, "LVMVolumeGroupConfig": true, "RAIDArrayConfig": true,
	// cluster membership, containers, runtime, security
	"DiscoveryIdentityConfig": true, "DiscoveryServiceConfig": true,
	"ContainerConfig": true, "CRIBaseRuntimeSpecConfig": true, "CRICustomizationConfig": true,
	"EnvironmentConfig": true, "EtcFileConfig": true, "EventSinkConfig": true,
	"ExtensionServiceConfig": true, "KernelModuleConfig": true, "KmsgLogConfig": true,
	"OOMConfig": true, "SecurityProfileConfig": true, "SysctlConfig": true, "SysfsConfig": true,
	"UdevRulesConfig": true, "UnattendedInstallConfig": true, "WatchdogTimerConfig": true,
	"ImageVerificationConfig": true, "TrustedRootsConfig": true, "ImageCacheConfig": true,
	"PCIDriverRebindConfig": true,
	"RegistryAuthConfig":    true, "RegistryMirrorConfig": true, "RegistryTLSConfig": true,
	// Kubernetes (netd reads nothing of the cluster; see FIELDS.md for
	// what that means for the firewall in block mode)
	"KubeAPIServerCAConfig": true, "KubeAPIServerConfig": true, "KubeAdmissionControlConfig": true,
	"KubeAggregatorCAConfig": true, "KubeAuditPolicyConfig": true, "KubeAuthenticationConfig": true,
	"KubeAuthorizerConfig": true, "KubeClusterConfig": true, "KubeControllerManagerConfig": true,
	"KubeCoreDNSConfig": true, "KubeCredentialProviderConfig": true, "KubeEtcdEncryptionConfig": true,
	"KubeExternalManifestConfig": true, "KubeFlannelCNIConfig": true, "KubeInlineManifestConfig": true,
	"KubeNetworkConfig": true, "KubeNodeConfig": true, "KubePrismConfig": true, "KubeProxyConfig": true,
	"KubeSchedulerConfig": true, "KubeServiceAccountConfig": true, "KubeStaticPodConfig": true,
	"KubeTalosAPIAccessConfig": true, "KubeletConfig": true,
	// network documents that change no network state: NTP, and probes
	// that only report status
	"TimeSyncConfig": true, "HTTPProbeConfig": true, "TCPProbeConfig": true,
}

// refusedKinds are Talos network document kinds netd does not implement:
// refused rather than skipped, because skipping them would leave the
// network other than the configuration says. The text says what to use.
var refusedKinds = map[string]string{
	"HostnameConfig":          "use machine.network.hostname",
	"ResolverConfig":          "use machine.network.nameservers and searchDomains",
	"StaticHostConfig":        "use machine.network.extraHostEntries",
	"LinkConfig":              "use machine.network.interfaces",
	"LinkAliasConfig":         "use machine.network.interfaces with deviceSelector",
	"DummyLinkConfig":         "use machine.network.interfaces with dummy: true",
	"BondConfig":              "use machine.network.interfaces with bond",
	"BridgeConfig":            "use machine.network.interfaces with bridge",
	"VLANConfig":              "use machine.network.interfaces with vlans",
	"WireguardConfig":         "use machine.network.interfaces with wireguard",
	"DHCPv4Config":            "use machine.network.interfaces with dhcp",
	"DHCPv6Config":            "use machine.network.interfaces with dhcp and dhcpOptions.ipv6",
	"Layer2VIPConfig":         "use machine.network.interfaces with vip",
	"HCloudVIPConfig":         "use machine.network.interfaces with vip.hcloud",
	"VethConfig":              "veth pairs are not part of the v1alpha1 network configuration netd reads",
	"VRFConfig":               "VRFs are not part of the v1alpha1 network configuration netd reads",
	"RoutingRuleConfig":       "routing rules are not part of the v1alpha1 network configuration netd reads",
	"BlackholeRouteConfig":    "blackhole routes are not part of the v1alpha1 network configuration netd reads",
	"EthernetConfig":          "ethtool settings are not implemented",
	"BGPInstanceConfig":       "BGP is not implemented",
	"KubeSpanEndpointsConfig": "KubeSpan is not implemented",
	"SideroLinkConfig":        "SideroLink (the Omni management tunnel) is not implemented",
}

// parseConfig reads one YAML file of one or more documents: a Talos
// v1alpha1 machine configuration ("version: v1alpha1"), of which only
// machine.network is read, and the firewall documents
// NetworkDefaultActionConfig and NetworkRuleConfig. Other Talos document
// kinds that configure no network state are skipped (ignoredKinds); the
// network kinds netd does not implement and unknown kinds are errors
// naming the kind. Every value is checked; errors name the path of the
// value ("machine.network.interfaces[0].mtu (line 9): ...") and wrap
// netprim.ErrInvalidSpec. The translated state passes State.Validate.
func parseConfig(data []byte) (*netConfig, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var machine *value
	var fw firewallDocs
	for i := 1; ; i++ {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, &configError{path: fmt.Sprintf("document %d", i), msg: err.Error()}
		}
		if len(doc.Content) == 0 {
			continue
		}
		top := newValue(doc.Content[0], "")
		if top.null() {
			continue // an empty document
		}
		where := value{n: top.n, path: fmt.Sprintf("document %d", i)}
		if top.n.Kind != yaml.MappingNode {
			return nil, where.errorf("want a mapping: a v1alpha1 machine configuration or a document with apiVersion and kind")
		}
		kind, hasKind := lookup(top.n, "kind")
		version, hasVersion := lookup(top.n, "version")
		switch {
		case hasKind:
			k, err := newValue(kind, where.path+".kind").str()
			if err != nil {
				return nil, err
			}
			if err := fw.add(top, k, where); err != nil {
				return nil, err
			}
		case hasVersion:
			v, err := newValue(version, "version").str()
			if err != nil {
				return nil, err
			}
			if v != "v1alpha1" {
				return nil, newValue(version, "version").errorf("%q: netd reads machine configurations of version v1alpha1", v)
			}
			if machine != nil {
				return nil, where.errorf("a second v1alpha1 machine configuration (the first is at line %d)", machine.n.Line)
			}
			m := top
			machine = &m
		default:
			return nil, where.errorf("neither a machine configuration (version: v1alpha1) nor a document with apiVersion and kind")
		}
	}
	c := &netConfig{}
	if machine != nil {
		if err := c.readMachine(*machine); err != nil {
			return nil, err
		}
	}
	var err error
	if c.State.Firewall, err = fw.spec(); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// lookup returns the value of key in mapping n.
func lookup(n *yaml.Node, key string) (*yaml.Node, bool) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if deref(n.Content[i]).Value == key {
			return n.Content[i+1], true
		}
	}
	return nil, false
}

// kindDoc checks the header of a document with a kind: apiVersion
// v1alpha1, and returns its path prefix.
func kindDoc(top value, kind string, where value) (string, error) {
	f, ok := lookup(top.n, "apiVersion")
	if !ok {
		return "", where.errorf("kind %s without apiVersion (want apiVersion: v1alpha1)", kind)
	}
	v, err := newValue(f, kind+".apiVersion").str()
	if err != nil {
		return "", err
	}
	if v != "v1alpha1" {
		return "", newValue(f, kind+".apiVersion").errorf("%q: netd reads %s v1alpha1", v, kind)
	}
	return kind, nil
}

// dispatchKind handles a document kind that is not a firewall document:
// skipped, or an error naming it.
func dispatchKind(top value, kind string, where value) error {
	if ignoredKinds[kind] {
		return nil
	}
	if kind == kindKubeSpan {
		// KubeSpanConfig: refused unless it disables KubeSpan.
		f, err := top.fields("apiVersion", "kind", "enabled", "advertiseKubernetesNetworks",
			"allowDownPeerBypass", "harvestExtraEndpoints", "mtu", "filters")
		if err != nil {
			return err
		}
		on := false // Talos' default
		if e, ok := f["enabled"]; ok {
			if on, err = e.boolean(); err != nil {
				return err
			}
		}
		if !on {
			return nil
		}
		return where.errorf("kind %s: KubeSpan is not supported by netd (set enabled: false or remove the document)", kind)
	}
	if why, ok := refusedKinds[kind]; ok {
		return where.errorf("kind %s is not supported by netd: %s", kind, why)
	}
	return where.errorf("unknown document kind %q", strings.TrimSpace(kind))
}
