package route

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/nl"
)

const sizeofFibRuleHdr = 12

// ListRules returns the policy rules of both families, in the kernel's
// order, read with one dump.
func ListRules(ctx context.Context, ns *netprim.Namespace, opts ...netprim.Option) ([]RuleStatus, error) {
	_, x := resolve(opts)
	c, err := nl.DialRoute(ns)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	x.countDump()
	rules, _, err := dumpRules(ctx, c)
	if err != nil {
		return nil, netprim.KernelError("list", "rules", err)
	}
	return rules, nil
}

// PlanRules returns the changes ApplyRules would make, without making
// them.
func PlanRules(ctx context.Context, ns *netprim.Namespace, want []Rule, opts ...netprim.Option) (netprim.Plan, error) {
	d, c, _, err := startRules(ctx, ns, want, opts)
	if err != nil {
		return netprim.Plan{}, err
	}
	c.Close()
	_, changes := d.run()
	return netprim.Plan{Changes: changes}, nil
}

// ApplyRules makes the kernel's policy rules match want and returns the
// changes it made. Rules it adds carry the owner id as protocol
// (FRA_PROTOCOL, Linux 4.17 and later); with netprim.WithPrune it deletes
// the rules carrying that protocol that are not wanted. The kernel's own
// rules (priorities 0, 32766 and 32767, protocol kernel) and rules of
// other protocols are never deleted. A wanted rule that already exists
// with another protocol is left as it is (rules cannot be replaced in
// place). A rule to delete that is already gone counts as deleted.
func ApplyRules(ctx context.Context, ns *netprim.Namespace, want []Rule, opts ...netprim.Option) (netprim.Plan, error) {
	d, c, o, err := startRules(ctx, ns, want, opts)
	if err != nil {
		return netprim.Plan{}, err
	}
	defer c.Close()
	ops, changes := d.run()
	if len(ops) == 0 {
		return netprim.Plan{Changes: changes}, nil
	}
	var b nl.Batch
	for i := range ops {
		encodeRule(&b, &ops[i], d.owner)
	}
	results, xerr := c.Exec(ctx, &b)
	var errs []error
	sent := 0
	failed := make([]bool, len(changes))
	for i, e := range results {
		if !ops[i].add && vanished(e) {
			e = nil // gone already, as wanted
		}
		if e == nil {
			sent++
			continue
		}
		failed[ops[i].change] = true
		if errors.Is(e, nl.ErrUnknownResult) {
			continue
		}
		sent++
		verb := "delete"
		if ops[i].add {
			verb = "add"
		}
		errs = append(errs, netprim.KernelError(verb, "rule "+ops[i].rule.String(), e))
	}
	count(o.Writes, sent)
	if xerr != nil {
		errs = append(errs, fmt.Errorf("route: apply rules stopped after %d of %d writes, re-apply to converge: %w", sent, len(ops), xerr))
	}
	done := changes[:0:0]
	for i := range changes {
		if failed[i] {
			continue
		}
		done = append(done, changes[i])
	}
	if len(done) == len(changes) {
		done = changes
	}
	return netprim.Plan{Changes: done}, errors.Join(errs...)
}

// startRules validates want and reads the kernel's rules.
func startRules(ctx context.Context, ns *netprim.Namespace, want []Rule, opts []netprim.Option) (*ruleDiff, *nl.Conn, netprim.Options, error) {
	o, x := resolve(opts)
	if err := checkOptions(o, ext{}); err != nil {
		return nil, nil, o, err
	}
	norm, err := prepareRules(want)
	if err != nil {
		return nil, nil, o, err
	}
	c, err := nl.DialRoute(ns)
	if err != nil {
		return nil, nil, o, err
	}
	x.countDump()
	have, opaque, err := dumpRules(ctx, c)
	if err != nil {
		c.Close()
		return nil, nil, o, netprim.KernelError("list", "rules", err)
	}
	return &ruleDiff{want: norm, have: have, opaque: opaque, owner: Protocol(o.Owner.ID), prune: o.Prune}, c, o, nil
}

// dumpRules reads the rules of both families with one RTM_GETRULE dump.
func dumpRules(ctx context.Context, c *nl.Conn) (rules []RuleStatus, opaque []bool, err error) {
	req := make([]byte, sizeofFibRuleHdr)
	err = c.Dump(ctx, unix.RTM_GETRULE, req, func() {
		rules, opaque = rules[:0], opaque[:0]
	}, func(typ uint16, data []byte) error {
		if typ != unix.RTM_NEWRULE {
			return nil
		}
		var st RuleStatus
		ok, op := parseRule(data, &st)
		if ok {
			rules = append(rules, st)
			opaque = append(opaque, op)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return rules, opaque, nil
}

// parseRule decodes one RTM_NEWRULE message. opaque is set for rules with
// selectors or actions a Rule cannot express.
func parseRule(data []byte, st *RuleStatus) (ok, opaque bool) {
	if len(data) < sizeofFibRuleHdr {
		return false, false
	}
	fam := data[0]
	if fam != afInet && fam != afInet6 {
		return false, false
	}
	dstLen, srcLen, tos := int(data[1]), int(data[2]), data[3]
	st.Family = familyFromKernel(fam)
	st.Table = uint32(data[4])
	st.Action = actionFromKernel(data[7])
	flags := binary.NativeEndian.Uint32(data[8:])
	st.Invert = flags&fibRuleInvert != 0
	opaque = tos != 0 || flags&^(fibRuleInvert|ruleFlagsMasked) != 0 || st.Action.kernel() == 0
	nl.Attrs(data[sizeofFibRuleHdr:], func(t uint16, v []byte) bool {
		switch t {
		case unix.FRA_DST:
			if a, ok := nl.Addr(v); ok {
				st.To = netip.PrefixFrom(a, dstLen)
			}
		case unix.FRA_SRC:
			if a, ok := nl.Addr(v); ok {
				st.From = netip.PrefixFrom(a, srcLen)
			}
		case unix.FRA_IIFNAME:
			st.IIF = nl.String(v)
		case unix.FRA_OIFNAME:
			st.OIF = nl.String(v)
		case unix.FRA_PRIORITY:
			st.Priority = nl.U32(v)
		case unix.FRA_FWMARK:
			st.FwMark = nl.U32(v)
		case unix.FRA_FWMASK:
			st.FwMask = nl.U32(v)
		case unix.FRA_TABLE:
			st.Table = nl.U32(v)
		case unix.FRA_SUPPRESS_PREFIXLEN:
			if p := int32(nl.U32(v)); p >= 0 {
				n := int(p)
				st.SuppressPrefixLength = &n
			}
		case unix.FRA_PROTOCOL:
			if len(v) > 0 {
				st.Protocol = Protocol(v[0])
			}
		case unix.FRA_SUPPRESS_IFGROUP:
			if int32(nl.U32(v)) != -1 {
				opaque = true
			}
		case unix.FRA_GOTO, unix.FRA_FLOW, unix.FRA_TUN_ID, unix.FRA_L3MDEV, unix.FRA_UID_RANGE,
			unix.FRA_IP_PROTO, unix.FRA_SPORT_RANGE, unix.FRA_DPORT_RANGE:
			opaque = true
		default:
			if t > unix.FRA_DPORT_RANGE { // newer selectors (dscp, masks, ...)
				opaque = true
			}
		}
		return true
	})
	return true, opaque
}

// encodeRule appends the RTM_NEWRULE or RTM_DELRULE of op. Adds carry the
// owner's protocol and are not exclusive: the kernel's duplicate check
// ignores the invert flag and treats unset selectors as wildcards, so it
// would refuse rules that differ.
func encodeRule(b *nl.Batch, op *ruleOp, owner Protocol) {
	r := &op.rule
	typ, flags, proto := uint16(unix.RTM_DELRULE), uint16(0), op.proto
	if op.add {
		typ, flags, proto = unix.RTM_NEWRULE, unix.NLM_F_CREATE, owner
	}
	b.Begin(typ, flags)
	var h [sizeofFibRuleHdr]byte
	h[0] = r.Family.kernel()
	if r.To.IsValid() {
		h[1] = uint8(r.To.Bits())
	}
	if r.From.IsValid() {
		h[2] = uint8(r.From.Bits())
	}
	if r.Table < 256 {
		h[4] = uint8(r.Table)
	} else {
		h[4] = uint8(tableCompat)
	}
	h[7] = r.Action.kernel()
	if r.Invert {
		binary.NativeEndian.PutUint32(h[8:], fibRuleInvert)
	}
	b.Fixed(h[:])
	b.AttrU32(unix.FRA_PRIORITY, r.Priority)
	if r.Table != 0 {
		b.AttrU32(unix.FRA_TABLE, r.Table)
	}
	if r.From.IsValid() {
		b.AttrAddr(unix.FRA_SRC, r.From.Addr())
	}
	if r.To.IsValid() {
		b.AttrAddr(unix.FRA_DST, r.To.Addr())
	}
	if r.IIF != "" {
		b.AttrString(unix.FRA_IIFNAME, r.IIF)
	}
	if r.OIF != "" {
		b.AttrString(unix.FRA_OIFNAME, r.OIF)
	}
	if r.FwMark != 0 {
		b.AttrU32(unix.FRA_FWMARK, r.FwMark)
	}
	if r.FwMask != 0 {
		b.AttrU32(unix.FRA_FWMASK, r.FwMask)
	}
	if r.SuppressPrefixLength != nil {
		b.AttrU32(unix.FRA_SUPPRESS_PREFIXLEN, uint32(*r.SuppressPrefixLength))
	}
	if proto != 0 {
		b.AttrU8(unix.FRA_PROTOCOL, uint8(proto))
	}
	b.End()
}
