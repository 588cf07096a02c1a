package hcloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/vip"
)

// Defaults of Options.
const (
	// DefaultEndpoint is the base URL of the Hetzner Cloud API.
	DefaultEndpoint = hcloud.Endpoint
	// DefaultMetadataEndpoint is the base URL of the server metadata
	// service, reachable from every Hetzner Cloud server; the server ID is
	// read from DefaultMetadataEndpoint + "/instance-id".
	DefaultMetadataEndpoint = "http://169.254.169.254/hetzner/v1/metadata"
	// DefaultPollInterval is the time between two polls of a running
	// action, as in hcloud-go.
	DefaultPollInterval = 500 * time.Millisecond
)

// Options configure a Handler. Only Token is required.
type Options struct {
	// Token is the Hetzner Cloud API token of the project that owns the
	// floating IPs. It needs read and write permission.
	Token string
	// ServerID is this server's ID in the Hetzner Cloud API; 0 means read
	// it from the metadata service on the first Acquire.
	ServerID int64
	// Endpoint is the base URL of the API; "" means DefaultEndpoint.
	Endpoint string
	// MetadataEndpoint is the base URL of the metadata service; ""
	// means DefaultMetadataEndpoint.
	MetadataEndpoint string
	// HTTPClient makes the requests to the API and the metadata service;
	// nil means a new client with Go's default transport. It is not
	// modified.
	HTTPClient *http.Client
	// PollInterval is the time between two polls of a running action; 0
	// means DefaultPollInterval.
	PollInterval time.Duration
}

// Handler moves shared IPs that are Hetzner Cloud floating IPs to this
// server. It implements vip.Handler and is safe for concurrent use.
type Handler struct {
	client   *hcloud.Client
	http     *http.Client
	metadata string

	mu       sync.Mutex
	serverID int64 // 0 until known
}

var _ vip.Handler = (*Handler)(nil)

// New returns a Handler for o. It makes no request; an error wrapping
// netprim.ErrInvalidSpec names the bad option.
func New(o Options) (*Handler, error) {
	if o.Token == "" {
		return nil, fmt.Errorf("hcloud: options: token is empty: %w", netprim.ErrInvalidSpec)
	}
	if strings.ContainsAny(o.Token, "\r\n") {
		return nil, fmt.Errorf("hcloud: options: token contains a line break: %w", netprim.ErrInvalidSpec)
	}
	if o.ServerID < 0 {
		return nil, fmt.Errorf("hcloud: options: serverID %d is negative: %w", o.ServerID, netprim.ErrInvalidSpec)
	}
	if o.PollInterval < 0 {
		return nil, fmt.Errorf("hcloud: options: pollInterval %s is negative: %w", o.PollInterval, netprim.ErrInvalidSpec)
	}
	endpoint, err := baseURL("endpoint", o.Endpoint, DefaultEndpoint)
	if err != nil {
		return nil, err
	}
	metadata, err := baseURL("metadataEndpoint", o.MetadataEndpoint, DefaultMetadataEndpoint)
	if err != nil {
		return nil, err
	}
	poll := o.PollInterval
	if poll == 0 {
		poll = DefaultPollInterval
	}
	httpClient := o.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	client := hcloud.NewClient(
		hcloud.WithToken(o.Token),
		hcloud.WithEndpoint(endpoint),
		hcloud.WithHTTPClient(httpClient),
		hcloud.WithPollOpts(hcloud.PollOpts{BackoffFunc: hcloud.ConstantBackoff(poll)}),
		hcloud.WithApplication("netprim", ""),
	)
	return &Handler{client: client, http: httpClient, metadata: metadata, serverID: o.ServerID}, nil
}

// baseURL checks an endpoint option: an absolute http or https URL without
// query; "" gives def. A trailing slash is dropped.
func baseURL(field, s, def string) (string, error) {
	if s == "" {
		return def, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("hcloud: options: %s: %w: %w", field, netprim.ErrInvalidSpec, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("hcloud: options: %s %q is not an http or https base URL: %w", field, s, netprim.ErrInvalidSpec)
	}
	return strings.TrimRight(s, "/"), nil
}

// Name returns "hcloud".
func (h *Handler) Name() string { return "hcloud" }

// Acquire assigns the floating IP that carries ip to this server and waits
// until Hetzner reports the assignment done. It does nothing more when the
// floating IP is assigned here already. Every API call is fenced on term
// (see vip.Fence); a term that no longer leads yields an error wrapping
// vip.ErrNotLeader. No floating IP for ip yields an error wrapping
// netprim.ErrNotFound; a token without the permission one wrapping
// netprim.ErrPermission.
func (h *Handler) Acquire(ctx context.Context, term vip.Term, ip netip.Addr) error {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return fmt.Errorf("hcloud: acquire: invalid address: %w", netprim.ErrInvalidSpec)
	}
	server, err := h.server(ctx)
	if err != nil {
		return err
	}

	var fip *hcloud.FloatingIP
	err = fenced(ctx, term, func(ctx context.Context) error {
		all, err := h.client.FloatingIP.All(ctx)
		if err != nil {
			return err
		}
		fip = carrying(all, ip)
		return nil
	})
	if err != nil {
		return fmt.Errorf("hcloud: find the floating IP of %s: list floating IPs: %w", ip, classify(err))
	}
	if fip == nil {
		return fmt.Errorf("hcloud: no floating IP of the project is %s: %w", ip, netprim.ErrNotFound)
	}
	if fip.Server != nil && fip.Server.ID == server {
		return nil
	}

	var action *hcloud.Action
	err = fenced(ctx, term, func(ctx context.Context) error {
		var err error
		action, _, err = h.client.FloatingIP.Assign(ctx, fip, &hcloud.Server{ID: server})
		return err
	})
	if err != nil {
		return fmt.Errorf("hcloud: assign %s to server %d: %w", describe(fip), server, classify(err))
	}
	if err := h.wait(ctx, term, action); err != nil {
		return fmt.Errorf("hcloud: assign %s to server %d: action %d: %w", describe(fip), server, action.ID, err)
	}
	return nil
}

// Release does nothing and returns nil: the floating IP stays assigned to
// this server until the next owner of the shared IP assigns it to itself
// (Hetzner moves an assigned floating IP in one step). Unassigning it here
// would only cut traffic earlier.
func (h *Handler) Release(ctx context.Context, ip netip.Addr) error { return nil }

// carrying returns the floating IP whose address is ip: an IPv4 floating
// IP by its address, an IPv6 one by the network it routes. Nil when none.
func carrying(all []*hcloud.FloatingIP, ip netip.Addr) *hcloud.FloatingIP {
	for _, f := range all {
		switch f.Type {
		case hcloud.FloatingIPTypeIPv4:
			if a, ok := netip.AddrFromSlice(f.IP); ok && a.Unmap() == ip {
				return f
			}
		case hcloud.FloatingIPTypeIPv6:
			if f.Network == nil || !ip.Is6() {
				continue
			}
			a, ok := netip.AddrFromSlice(f.Network.IP)
			ones, bits := f.Network.Mask.Size()
			if ok && a.Is6() && bits == 128 && netip.PrefixFrom(a, ones).Contains(ip) {
				return f
			}
		}
	}
	return nil
}

// describe names a floating IP in errors.
func describe(f *hcloud.FloatingIP) string {
	addr := f.IP.String()
	if f.Network != nil {
		addr = f.Network.String()
	}
	if f.Name != "" {
		return fmt.Sprintf("floating IP %s (%s, id %d)", addr, f.Name, f.ID)
	}
	return fmt.Sprintf("floating IP %s (id %d)", addr, f.ID)
}

// classify wraps netprim.ErrPermission around an API error that says the
// token may not do what was asked.
func classify(err error) error {
	var apiErr hcloud.Error
	if errors.As(err, &apiErr) && (apiErr.Code == hcloud.ErrorCodeForbidden || apiErr.Code == hcloud.ErrorCodeUnauthorized) {
		return fmt.Errorf("%w: %w", netprim.ErrPermission, err)
	}
	return err
}
