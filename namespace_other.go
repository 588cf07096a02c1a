//go:build !linux

package netprim

import "fmt"

// NetnsDir is the directory where iproute2 keeps named network namespaces.
const NetnsDir = "/var/run/netns"

// Namespace is a network namespace handle; network namespaces exist only on
// Linux, so on this platform only the nil Namespace (the caller's) exists.
type Namespace struct{}

func unsupportedNS() error { return fmt.Errorf("network namespaces: %w: Linux only", ErrUnsupported) }

// OpenNamespace returns ErrUnsupported outside Linux.
func OpenNamespace(name string) (*Namespace, error) { return nil, unsupportedNS() }

// OpenNamespacePath returns ErrUnsupported outside Linux.
func OpenNamespacePath(path string) (*Namespace, error) { return nil, unsupportedNS() }

// OpenNamespacePID returns ErrUnsupported outside Linux.
func OpenNamespacePID(pid int) (*Namespace, error) { return nil, unsupportedNS() }

// NamespaceFromFD returns ErrUnsupported outside Linux.
func NamespaceFromFD(fd int) (*Namespace, error) { return nil, unsupportedNS() }

// CurrentNamespace returns ErrUnsupported outside Linux.
func CurrentNamespace() (*Namespace, error) { return nil, unsupportedNS() }

// FD returns -1.
func (ns *Namespace) FD() int { return -1 }

// String returns "host".
func (ns *Namespace) String() string { return "host" }

// Close does nothing.
func (ns *Namespace) Close() error { return nil }

// Do runs fn for the nil Namespace and returns ErrUnsupported otherwise.
func (ns *Namespace) Do(fn func() error) error {
	if ns == nil {
		return fn()
	}
	return unsupportedNS()
}

// NewNamespace returns ErrUnsupported outside Linux.
func NewNamespace() (*Namespace, error) { return nil, unsupportedNS() }

// Path returns "".
func (ns *Namespace) Path() string { return "" }
