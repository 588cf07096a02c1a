package hcloud

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// metadataTimeout bounds one read of the metadata service, which answers
// at once on a Hetzner Cloud server and not at all elsewhere.
const metadataTimeout = 5 * time.Second

// server returns this server's ID: Options.ServerID, or the metadata
// service's answer, read once and kept.
func (h *Handler) server(ctx context.Context) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.serverID != 0 {
		return h.serverID, nil
	}
	id, err := h.readServerID(ctx)
	if err != nil {
		return 0, err
	}
	h.serverID = id
	return id, nil
}

// readServerID reads the server ID from the metadata service. It is not
// fenced: the metadata service is local to the server and changes nothing.
func (h *Handler) readServerID(ctx context.Context) (int64, error) {
	u := h.metadata + "/instance-id"
	ctx, cancel := context.WithTimeout(ctx, metadataTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, http.NoBody)
	if err != nil {
		return 0, fmt.Errorf("hcloud: read server ID from metadata service %s: %w", u, err)
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("hcloud: read server ID from metadata service: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64))
	if err != nil {
		return 0, fmt.Errorf("hcloud: read server ID from metadata service %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("hcloud: read server ID from metadata service %s: status %s", u, resp.Status)
	}
	id, err := strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("hcloud: read server ID from metadata service %s: %q is not a server ID", u, body)
	}
	return id, nil
}
