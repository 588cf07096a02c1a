package resolv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// fileUnit is one file to manage.
type fileUnit struct {
	rel     string
	content []byte
}

// job is everything one Plan or Apply call manages.
type job struct {
	files    []fileUnit
	hostname *HostnameSpec
	warnings []string
}

// PlanResolver returns the changes ApplyResolver would make to
// ROOT/etc/resolv.conf: a line diff (one Delete or Add per line), and the
// glibc warnings of s (e.g. more than 3 nameservers). root "" means "/".
func PlanResolver(ctx context.Context, root string, s ResolverSpec, opts ...netprim.Option) (netprim.Plan, error) {
	j, err := resolverJob(s)
	if err != nil {
		return netprim.Plan{}, err
	}
	return run(ctx, root, j, false, opts)
}

// ApplyResolver writes ROOT/etc/resolv.conf from s, atomically, unless it
// already has that content, and returns what it changed. root "" means "/".
func ApplyResolver(ctx context.Context, root string, s ResolverSpec, opts ...netprim.Option) (netprim.Plan, error) {
	j, err := resolverJob(s)
	if err != nil {
		return netprim.Plan{}, err
	}
	return run(ctx, root, j, true, opts)
}

// PlanHosts returns the changes ApplyHosts would make to ROOT/etc/hosts.
func PlanHosts(ctx context.Context, root string, s HostsSpec, opts ...netprim.Option) (netprim.Plan, error) {
	if err := s.Validate(); err != nil {
		return netprim.Plan{}, err
	}
	return run(ctx, root, job{files: []fileUnit{{HostsPath, RenderHosts(s)}}}, false, opts)
}

// ApplyHosts writes ROOT/etc/hosts from s, atomically, unless it already
// has that content, and returns what it changed.
func ApplyHosts(ctx context.Context, root string, s HostsSpec, opts ...netprim.Option) (netprim.Plan, error) {
	if err := s.Validate(); err != nil {
		return netprim.Plan{}, err
	}
	return run(ctx, root, job{files: []fileUnit{{HostsPath, RenderHosts(s)}}}, true, opts)
}

// PlanHostname returns the changes ApplyHostname would make: a line diff of
// ROOT/etc/hostname and, with WithUTSNamespace or WithCallerUTSNamespace,
// a Modify of the kernel host name (and domain name) in that namespace.
func PlanHostname(ctx context.Context, root string, h HostnameSpec, opts ...netprim.Option) (netprim.Plan, error) {
	j, err := hostnameJob(h)
	if err != nil {
		return netprim.Plan{}, err
	}
	return run(ctx, root, j, false, opts)
}

// ApplyHostname writes ROOT/etc/hostname and, only with WithUTSNamespace
// or WithCallerUTSNamespace, sets the kernel host name (sethostname) and,
// when Domainname is set, the kernel domain name (setdomainname) in that
// namespace, each only when it differs. Without either option the Plan
// warns that the kernel host name is not managed.
func ApplyHostname(ctx context.Context, root string, h HostnameSpec, opts ...netprim.Option) (netprim.Plan, error) {
	j, err := hostnameJob(h)
	if err != nil {
		return netprim.Plan{}, err
	}
	return run(ctx, root, j, true, opts)
}

// Plan returns the changes Apply would make for every section of c.
func Plan(ctx context.Context, root string, c Config, opts ...netprim.Option) (netprim.Plan, error) {
	j, err := configJob(c)
	if err != nil {
		return netprim.Plan{}, err
	}
	return run(ctx, root, j, false, opts)
}

// Apply writes the files of every section of c (resolv.conf, hosts,
// hostname) and sets the kernel host name as ApplyHostname does. Nothing is
// written when c is invalid. Errors of independent files are joined; one
// failing file does not stop the others.
func Apply(ctx context.Context, root string, c Config, opts ...netprim.Option) (netprim.Plan, error) {
	j, err := configJob(c)
	if err != nil {
		return netprim.Plan{}, err
	}
	return run(ctx, root, j, true, opts)
}

func resolverJob(s ResolverSpec) (job, error) {
	s.SearchDomains = slices.Clone(s.SearchDomains) // Normalize must not change the caller's slice
	s.Normalize()
	if err := s.Validate(); err != nil {
		return job{}, err
	}
	return job{files: []fileUnit{{ResolvConfPath, RenderResolvConf(s)}}, warnings: s.Warnings()}, nil
}

func hostnameJob(h HostnameSpec) (job, error) {
	h.Normalize()
	if err := h.Validate(); err != nil {
		return job{}, err
	}
	return job{files: []fileUnit{{HostnamePath, RenderHostname(h)}}, hostname: &h}, nil
}

func configJob(c Config) (job, error) {
	if err := c.Validate(); err != nil {
		return job{}, err
	}
	var j job
	if c.Resolver != nil {
		rj, _ := resolverJob(*c.Resolver)
		j.files = append(j.files, rj.files...)
		j.warnings = append(j.warnings, rj.warnings...)
	}
	if hs, ok := c.HostsSpec(); ok {
		j.files = append(j.files, fileUnit{HostsPath, RenderHosts(hs)})
	}
	if c.Hostname != nil {
		hj, _ := hostnameJob(*c.Hostname)
		j.files = append(j.files, hj.files...)
		j.hostname = hj.hostname
	}
	return j, nil
}

// run plans (apply false) or applies j under root.
func run(ctx context.Context, root string, j job, apply bool, opts []netprim.Option) (netprim.Plan, error) {
	o := resolveOptions(opts)
	if root == "" {
		root = "/"
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return netprim.Plan{}, fmt.Errorf("resolv: root %q: %w", root, err)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return netprim.Plan{}, fileError("use root", root, err)
	}
	r, err := openRoot(root)
	if err != nil {
		return netprim.Plan{}, err
	}
	defer r.close()
	plan := netprim.Plan{Warnings: j.warnings}
	var errs []error
	for _, f := range j.files {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		st, err := inspect(r, f.rel, o.symlink)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.through {
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("%s is a symbolic link to %s: writing through it to %s", st.display, st.link, st.target))
		}
		changes := planFile(st, f.content)
		if apply && len(changes) > 0 {
			n, err := writeFile(r, st, f.content)
			o.count(n)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			o.Logger.DebugContext(ctx, "resolv: wrote file", "path", st.target)
		}
		plan.Append(changes...)
	}
	if j.hostname != nil && ctx.Err() == nil {
		changes, warn, err := kernelHostname(*j.hostname, apply, o)
		plan.Warnings = append(plan.Warnings, warn...)
		plan.Append(changes...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return plan, errors.Join(errs...)
}

func (o settings) count(n int64) {
	if o.Writes != nil && n > 0 {
		atomic.AddInt64(o.Writes, n)
	}
}

// kernelHostname plans or sets the kernel host name in the chosen UTS
// namespace.
func kernelHostname(h HostnameSpec, apply bool, o settings) ([]netprim.Change, []string, error) {
	if o.utsPath == "" && !o.callerUTS {
		return nil, []string{"kernel host name not managed: no UTS namespace given (resolv.WithUTSNamespace or resolv.WithCallerUTSNamespace)"}, nil
	}
	where := o.utsPath
	if where == "" {
		where = "caller"
	}
	var changes []netprim.Change
	err := inUTS(o.utsPath, func() error {
		have, err := readUTS()
		if err != nil {
			return utsError("uname", where, err)
		}
		if have.hostname != h.Hostname {
			if apply {
				o.count(1)
				if err := unix.Sethostname([]byte(h.Hostname)); err != nil {
					return utsError("sethostname", where, err)
				}
			}
			changes = append(changes, netprim.Change{Action: netprim.Modify, Kind: "hostname", Object: "uts " + where,
				Field: "hostname", From: have.hostname, To: h.Hostname})
		}
		if h.Domainname != "" && have.domainname != h.Domainname {
			if apply {
				o.count(1)
				if err := unix.Setdomainname([]byte(h.Domainname)); err != nil {
					return utsError("setdomainname", where, err)
				}
			}
			changes = append(changes, netprim.Change{Action: netprim.Modify, Kind: "hostname", Object: "uts " + where,
				Field: "domainname", From: have.domainname, To: h.Domainname})
		}
		return nil
	})
	return changes, nil, err
}
