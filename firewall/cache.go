package firewall

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"sync"

	"github.com/netprim/netprim"
)

// Cache lets Plan and Apply skip reading the table when nothing in the
// namespace's nftables ruleset changed since the Spec was last applied.
//
// The kernel numbers the nftables ruleset of each network namespace with a
// generation that every committed transaction, in any table, bumps by one.
// When an Apply succeeds (it wrote the Spec, or found the table already
// matching it), the Cache records a hash of the Spec with the namespace and
// the generation that holds it. The next Plan or Apply of the same Spec
// with the same Cache asks the kernel for the generation only; if it has
// not moved, the table still holds the Spec and the call returns an empty
// Plan having read nothing else. Any other change of the namespace's
// nftables, in our table or another (an "nft" command, another program),
// moves the generation: the next call reads the table again, repairs what
// drifted and records the new generation.
//
// An Apply records only when no other transaction committed between its
// read of the table and its own transaction; otherwise it records nothing
// and the next call reads again. Namespaces are told apart by their cookie
// (SO_NETNS_COOKIE, Linux 5.14), which is never reused; on older kernels a
// Cache is not used at all.
//
// The zero value is ready to use. A Cache is safe for concurrent use. It
// remembers one Spec per namespace (the last one applied there) and at
// most 64 namespaces; pass the same Cache to every call that manages one
// namespace's firewall, for example for the life of a reconciler.
type Cache struct {
	mu      sync.Mutex
	entries map[uint64]cacheEntry // by namespace cookie
}

type cacheEntry struct {
	spec [sha256.Size]byte
	gen  uint32
}

// cacheMax bounds the namespaces a Cache remembers.
const cacheMax = 64

// hit reports whether the namespace is known to hold spec at generation
// gen.
func (c *Cache) hit(cookie uint64, spec [sha256.Size]byte, gen uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[cookie]
	return ok && e.spec == spec && e.gen == gen
}

// store records that the namespace holds spec at generation gen.
func (c *Cache) store(cookie uint64, spec [sha256.Size]byte, gen uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[uint64]cacheEntry{}
	}
	if _, ok := c.entries[cookie]; !ok && len(c.entries) >= cacheMax {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[cookie] = cacheEntry{spec: spec, gen: gen}
}

type cacheKey struct{}

// WithCache lets Plan and Apply answer from c when the namespace's
// nftables ruleset did not change since the same Spec was applied with c,
// and lets Apply record what it applied in c. See Cache. A nil c is
// ignored.
func WithCache(c *Cache) netprim.Option {
	return func(o *netprim.Options) { o.Set(cacheKey{}, c) }
}

func cacheOf(o netprim.Options) *Cache {
	c, _ := o.Value(cacheKey{}).(*Cache)
	return c
}

// specHash identifies a Spec as given, before Normalize: equal hashes mean
// equal Specs, which validate and compile alike.
func specHash(s Spec) [sha256.Size]byte {
	b := make([]byte, 0, 64+64*len(s.Rules))
	str := func(v string) {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	str("netprim firewall spec v1")
	str(s.Table)
	str(string(s.DefaultAction))
	b = binary.AppendUvarint(b, uint64(len(s.Rules)))
	for _, r := range s.Rules {
		str(r.Name)
		str(string(r.Protocol))
		b = binary.AppendUvarint(b, uint64(len(r.Ports)))
		for _, p := range r.Ports {
			str(p)
		}
		for _, ps := range [][]netip.Prefix{r.Subnets, r.Except} {
			b = binary.AppendUvarint(b, uint64(len(ps)))
			for _, p := range ps {
				a := p.Addr().As16()
				b = append(b, a[:]...)
				// Bits is -1 for the zero Prefix.
				b = append(b, byte(p.Addr().BitLen()), byte(p.Bits()+1))
			}
		}
		str(r.InInterface)
		str(string(r.Action))
	}
	return sha256.Sum256(b)
}
