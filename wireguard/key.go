package wireguard

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"

	"golang.org/x/crypto/curve25519"
)

// KeyLen is the length of a WireGuard key in bytes.
const KeyLen = 32

// hidden is what every output path prints instead of a secret key.
const hidden = "(hidden)"

// Key is a WireGuard public key. It prints as base64, as wg(8) shows it.
type Key [KeyLen]byte

// PrivateKey is a WireGuard private key. It never prints: String, every fmt
// verb, JSON, YAML and slog show "(hidden)". Reveal returns the base64 text.
type PrivateKey [KeyLen]byte

// PresharedKey is an optional symmetric key shared by two peers. Like
// PrivateKey it never prints.
type PresharedKey [KeyLen]byte

// ParseKey decodes a base64 public key.
func ParseKey(s string) (Key, error) {
	b, err := decodeKey(s)
	return Key(b), err
}

// ParsePrivateKey decodes a base64 private key. The error never contains
// the input.
func ParsePrivateKey(s string) (PrivateKey, error) {
	b, err := decodeKey(s)
	return PrivateKey(b), err
}

// ParsePresharedKey decodes a base64 preshared key. The error never
// contains the input.
func ParsePresharedKey(s string) (PresharedKey, error) {
	b, err := decodeKey(s)
	return PresharedKey(b), err
}

func decodeKey(s string) ([KeyLen]byte, error) {
	var k [KeyLen]byte
	if s == hidden {
		return k, fmt.Errorf("key is %q: redacted output cannot be applied, supply the key itself", hidden)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		// The base64 error quotes an offset, never the text.
		return k, fmt.Errorf("key is not valid base64 (%d characters)", len(s))
	}
	if len(b) != KeyLen {
		return k, fmt.Errorf("key is %d bytes, want %d", len(b), KeyLen)
	}
	copy(k[:], b)
	return k, nil
}

// GeneratePrivateKey returns a new random, clamped Curve25519 private key.
func GeneratePrivateKey() (PrivateKey, error) {
	var k PrivateKey
	if _, err := rand.Read(k[:]); err != nil {
		return PrivateKey{}, fmt.Errorf("wireguard: generate key: %w", err)
	}
	k[0] &= 248
	k[31] = (k[31] & 127) | 64
	return k, nil
}

// GeneratePresharedKey returns a new random preshared key.
func GeneratePresharedKey() (PresharedKey, error) {
	var k PresharedKey
	if _, err := rand.Read(k[:]); err != nil {
		return PresharedKey{}, fmt.Errorf("wireguard: generate preshared key: %w", err)
	}
	return k, nil
}

// String returns the key in base64.
func (k Key) String() string { return base64.StdEncoding.EncodeToString(k[:]) }

// IsZero reports whether the key is all zeros (unset).
func (k Key) IsZero() bool { return k == Key{} }

// MarshalText encodes the key in base64.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText decodes a base64 key.
func (k *Key) UnmarshalText(b []byte) error {
	v, err := ParseKey(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// PublicKey derives the public key.
func (k PrivateKey) PublicKey() Key {
	var pub Key
	priv := [KeyLen]byte(k)
	curve25519.ScalarBaseMult((*[32]byte)(&pub), &priv)
	return pub
}

// IsZero reports whether the key is unset.
func (k PrivateKey) IsZero() bool { return k == PrivateKey{} }

// Reveal returns the key in base64. It is the only way to print the key:
// use it to write the key where it belongs, never in logs.
func (k PrivateKey) Reveal() string { return base64.StdEncoding.EncodeToString(k[:]) }

// String returns "(hidden)".
func (k PrivateKey) String() string { return hidden }

// GoString returns "(hidden)".
func (k PrivateKey) GoString() string { return hidden }

// Format prints "(hidden)" for every verb.
func (k PrivateKey) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(hidden)) }

// LogValue makes slog print "(hidden)".
func (k PrivateKey) LogValue() slog.Value { return slog.StringValue(hidden) }

// MarshalText returns "(hidden)": JSON and YAML output never carry the key.
func (k PrivateKey) MarshalText() ([]byte, error) { return []byte(hidden), nil }

// UnmarshalText decodes a base64 key; the redacted text "(hidden)" is
// rejected.
func (k *PrivateKey) UnmarshalText(b []byte) error {
	v, err := ParsePrivateKey(string(b))
	if err != nil {
		return fmt.Errorf("private key: %w", err)
	}
	*k = v
	return nil
}

// IsZero reports whether no preshared key is set.
func (k PresharedKey) IsZero() bool { return k == PresharedKey{} }

// Reveal returns the key in base64; see PrivateKey.Reveal.
func (k PresharedKey) Reveal() string { return base64.StdEncoding.EncodeToString(k[:]) }

// String returns "(hidden)", or "none" for the zero key.
func (k PresharedKey) String() string {
	if k.IsZero() {
		return "none"
	}
	return hidden
}

// GoString returns the same as String.
func (k PresharedKey) GoString() string { return k.String() }

// Format prints String for every verb.
func (k PresharedKey) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue makes slog print String.
func (k PresharedKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalText returns "(hidden)", or "" for the zero key.
func (k PresharedKey) MarshalText() ([]byte, error) {
	if k.IsZero() {
		return []byte{}, nil
	}
	return []byte(hidden), nil
}

// UnmarshalText decodes a base64 key; "" is the zero key and "(hidden)" is
// rejected.
func (k *PresharedKey) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*k = PresharedKey{}
		return nil
	}
	v, err := ParsePresharedKey(string(b))
	if err != nil {
		return fmt.Errorf("preshared key: %w", err)
	}
	*k = v
	return nil
}
