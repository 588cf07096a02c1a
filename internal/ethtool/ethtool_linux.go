package ethtool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// Conn is a socket for ethtool ioctls, bound to one network namespace.
type Conn struct {
	fd     int
	nwords int8 // link mode mask words agreed with the kernel; 0 = not yet
}

// Open returns a Conn for the devices of ns (the caller's namespace for
// nil). The socket is created inside ns on a throwaway thread and stays
// bound to it.
func Open(ns *netprim.Namespace) (*Conn, error) {
	fd := -1
	err := ns.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, netprim.KernelError("open", "ethtool socket in netns "+ns.String(), err)
	}
	return &Conn{fd: fd}, nil
}

// Close releases the socket.
func (c *Conn) Close() error { return unix.Close(c.fd) }

// Query returns what the kernel knows about device name. Parts the device
// does not support (no ethtool driver info, no link settings) stay zero; an
// error is returned only when the device is gone or the ioctl fails for
// another reason than lack of support.
func (c *Conn) Query(name string) (Info, error) {
	var info Info
	drv, err := unix.IoctlGetEthtoolDrvinfo(c.fd, name)
	switch {
	case err == nil:
		info.Driver = unix.ByteSliceToString(drv.Driver[:])
		info.BusInfo = unix.ByteSliceToString(drv.Bus_info[:])
	case unsupported(err):
	default:
		return Info{}, fmt.Errorf("ethtool %s: driver info: %w", name, err)
	}
	speed, duplex, err := c.linkSettings(name)
	switch {
	case err == nil:
		info.Speed, info.Duplex = speed, duplex
	case unsupported(err):
	default:
		return Info{}, fmt.Errorf("ethtool %s: link settings: %w", name, err)
	}
	return info, nil
}

func unsupported(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL)
}

// ifreqData is struct ifreq with ifr_data set; the padding covers the
// largest member of the kernel's union.
type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [24]byte
}

// Offsets in struct ethtool_link_settings (include/uapi/linux/ethtool.h).
const (
	lsSpeed  = 4
	lsDuplex = 8
	lsNwords = 15
	lsHeader = 48
)

const (
	speedUnknown  = 0xffffffff
	duplexHalf    = 0
	duplexFull    = 1
	maxMaskNwords = 127
)

// linkSettings runs ETHTOOL_GLINKSETTINGS: a first call learns how many
// link-mode mask words the kernel uses (it answers with the negated count),
// the second gets the settings. The count is remembered for the Conn.
func (c *Conn) linkSettings(name string) (speed int, duplex string, err error) {
	buf := make([]byte, lsHeader+3*4*maxMaskNwords)
	if c.nwords == 0 {
		if err := c.ethtool(name, unix.ETHTOOL_GLINKSETTINGS, buf); err != nil {
			return 0, "", err
		}
		n := -int8(buf[lsNwords])
		if n <= 0 {
			return 0, "", fmt.Errorf("%w: kernel answered link mode words %d", unix.EINVAL, -n)
		}
		c.nwords = n
		clear(buf)
	}
	buf[lsNwords] = byte(c.nwords)
	if err := c.ethtool(name, unix.ETHTOOL_GLINKSETTINGS, buf); err != nil {
		return 0, "", err
	}
	if int8(buf[lsNwords]) != c.nwords {
		return 0, "", fmt.Errorf("%w: link mode words changed", unix.EINVAL)
	}
	if s := binary.NativeEndian.Uint32(buf[lsSpeed:]); s != speedUnknown && s != 0 {
		speed = int(s)
	}
	switch buf[lsDuplex] {
	case duplexHalf:
		duplex = "half"
	case duplexFull:
		duplex = "full"
	}
	if speed == 0 {
		duplex = "" // drivers report a duplex even without a link
	}
	return speed, duplex, nil
}

func (c *Conn) ethtool(name string, cmd uint32, buf []byte) error {
	var ifr ifreqData
	if len(name) >= unix.IFNAMSIZ {
		return fmt.Errorf("%w: name too long", unix.EINVAL)
	}
	copy(ifr.name[:], name)
	binary.NativeEndian.PutUint32(buf, cmd)
	ifr.data = unsafe.Pointer(&buf[0])
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(c.fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
	runtime.KeepAlive(buf)
	if errno != 0 {
		return errno
	}
	return nil
}
