package netprim

import (
	"errors"
	"fmt"

	"syscall"
)

// Sentinel errors. Every error returned by netprim packages that falls into
// one of these classes wraps the sentinel, so callers test with errors.Is.
var (
	// ErrNotFound: the object (link, namespace, route, ...) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalidSpec: a Spec failed validation; the message names the field.
	ErrInvalidSpec = errors.New("invalid spec")
	// ErrUnsupported: the kernel (or platform) lacks a feature; the message
	// names the missing module or feature, e.g. "kernel lacks bonding:
	// modprobe bonding".
	ErrUnsupported = errors.New("unsupported")
	// ErrPermission: the caller lacks a privilege; the message names the
	// capability, e.g. "needs CAP_NET_ADMIN".
	ErrPermission = errors.New("permission denied")
	// ErrConflict: the wanted object collides with one netprim does not
	// own (another owner's, or the kernel's) and would have to replace it;
	// netprim refuses, and the message says what to change.
	ErrConflict = errors.New("conflicts with an object not owned")
)

// OpError describes a failed operation on one object, for example
// Op "add", Object "route 10.0.0.0/8 dev eth0".
type OpError struct {
	Op     string // add, delete, set, list, ...
	Object string // the object as rendered in a Plan, e.g. "link eth0"
	Err    error  // the cause; wraps a sentinel where one applies
}

// Error renders "OP OBJECT: ERR".
func (e *OpError) Error() string {
	if e.Object == "" {
		return e.Op + ": " + e.Err.Error()
	}
	return e.Op + " " + e.Object + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

// Unsupported returns an error wrapping ErrUnsupported that names what the
// kernel lacks and, when module is not empty, how to load it.
func Unsupported(feature, module string) error {
	if module == "" {
		return fmt.Errorf("%w: kernel lacks %s", ErrUnsupported, feature)
	}
	return fmt.Errorf("%w: kernel lacks %s: modprobe %s", ErrUnsupported, feature, module)
}

// KernelError wraps err, returned by the kernel for operation op on object,
// in an OpError and classifies common errno values: EPERM/EACCES wrap
// ErrPermission ("needs CAP_NET_ADMIN"), ENOENT/ENODEV/ESRCH wrap
// ErrNotFound, EOPNOTSUPP wraps ErrUnsupported. A nil err returns nil.
func KernelError(op, object string, err error) error {
	if err == nil {
		return nil
	}
	var oe *OpError
	if errors.As(err, &oe) {
		return err
	}
	return &OpError{Op: op, Object: object, Err: classifyErrno(err, "CAP_NET_ADMIN")}
}

func classifyErrno(err error, capability string) error {
	switch {
	case errors.Is(err, ErrPermission), errors.Is(err, ErrNotFound), errors.Is(err, ErrUnsupported):
		return err
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return fmt.Errorf("%w: needs %s: %w", ErrPermission, capability, err)
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ENODEV), errors.Is(err, syscall.ESRCH):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, syscall.EOPNOTSUPP):
		return fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return err
}
