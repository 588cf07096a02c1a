package dhcp

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// leaseFile is the content of Config.LeaseFile.
type leaseFile struct {
	Version int     `json:"version"`
	Lease   *Lease  `json:"lease,omitempty"`
	Lease6  *Lease6 `json:"lease6,omitempty"`
}

// saveLease writes the lease file atomically (a temporary file renamed
// over it), readable only by its owner.
func saveLease(path string, lf leaseFile) error {
	if path == "" {
		return nil
	}
	lf.Version = 1
	b, err := json.MarshalIndent(lf, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("dhcp: lease file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("dhcp: lease file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("dhcp: lease file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("dhcp: lease file: %w", err)
	}
	return nil
}

// loadLease reads the lease file; a missing file is no lease.
func loadLease(path string) (leaseFile, error) {
	var lf leaseFile
	if path == "" {
		return lf, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return lf, nil
	}
	if err != nil {
		return lf, fmt.Errorf("dhcp: lease file: %w", err)
	}
	if err := json.Unmarshal(b, &lf); err != nil || lf.Version != 1 {
		return leaseFile{}, fmt.Errorf("dhcp: lease file %s: not a lease file (version 1): %v", path, err)
	}
	return lf, nil
}

// ReadLeaseFile returns the lease kept in the file of a Config.LeaseFile
// (lease4) or a Config6.LeaseFile (lease6); the other is nil. A file that
// does not exist holds no lease and is no error. A product reads it, for
// instance, to know what a client will take up when it starts.
func ReadLeaseFile(path string) (lease4 *Lease, lease6 *Lease6, err error) {
	if path == "" {
		return nil, nil, nil
	}
	lf, err := loadLease(path)
	return lf.Lease, lf.Lease6, err
}

func removeLease(path string) {
	if path != "" {
		os.Remove(path)
	}
}
