package wireguard

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Identity is a node's WireGuard key pair. It prints only its public key.
type Identity struct {
	PrivateKey PrivateKey `json:"privateKey" yaml:"privateKey"`
	PublicKey  Key        `json:"publicKey" yaml:"publicKey"`
}

// NewIdentity generates a new key pair.
func NewIdentity() (Identity, error) {
	k, err := GeneratePrivateKey()
	if err != nil {
		return Identity{}, err
	}
	return Identity{PrivateKey: k, PublicKey: k.PublicKey()}, nil
}

// String returns "identity PUBLICKEY".
func (id Identity) String() string { return "identity " + id.PublicKey.String() }

// LoadOrCreateIdentity reads the identity persisted at path or, when the
// file does not exist, generates one and writes it there with mode 0600
// (atomically: a temporary file renamed into place). The file holds two
// lines, "privateKey: BASE64" and "publicKey: BASE64". A file that others
// can read (mode bits 0077), or whose public key does not match its
// private key, is an error: the key is never silently replaced.
func LoadOrCreateIdentity(path string) (Identity, error) {
	id, err := LoadIdentity(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return id, err
	}
	if id, err = NewIdentity(); err != nil {
		return Identity{}, err
	}
	return id, SaveIdentity(path, id)
}

// LoadIdentity reads an identity file written by SaveIdentity.
func LoadIdentity(path string) (Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return Identity{}, fmt.Errorf("wireguard: identity: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Identity{}, fmt.Errorf("wireguard: identity: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return Identity{}, fmt.Errorf("wireguard: identity %s: mode %v lets others read the private key: chmod 600", path, fi.Mode().Perm())
	}
	var id Identity
	var havePriv, havePub bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "privateKey":
			if id.PrivateKey, err = ParsePrivateKey(v); err != nil {
				return Identity{}, fmt.Errorf("wireguard: identity %s: privateKey: %w", path, err)
			}
			havePriv = true
		case "publicKey":
			if id.PublicKey, err = ParseKey(v); err != nil {
				return Identity{}, fmt.Errorf("wireguard: identity %s: publicKey: %w", path, err)
			}
			havePub = true
		}
	}
	if err := sc.Err(); err != nil {
		return Identity{}, fmt.Errorf("wireguard: identity %s: %w", path, err)
	}
	if !havePriv {
		return Identity{}, fmt.Errorf("wireguard: identity %s: no privateKey", path)
	}
	if pub := id.PrivateKey.PublicKey(); havePub && pub != id.PublicKey {
		return Identity{}, fmt.Errorf("wireguard: identity %s: publicKey %s does not match the private key (its public key is %s)", path, id.PublicKey, pub)
	}
	id.PublicKey = id.PrivateKey.PublicKey()
	return id, nil
}

// SaveIdentity writes id to path with mode 0600, atomically.
func SaveIdentity(path string, id Identity) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "privateKey: %s\npublicKey: %s\n", id.PrivateKey.Reveal(), id.PrivateKey.PublicKey())
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("wireguard: identity: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("wireguard: identity: %w", err)
	}
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("wireguard: identity: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("wireguard: identity: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("wireguard: identity: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("wireguard: identity: %w", err)
	}
	return nil
}
