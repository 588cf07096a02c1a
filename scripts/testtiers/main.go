// Command testtiers reads the output of "go test -json" for scripts/test
// and scripts/flaketest: it prints what a person needs from it, picks the
// tests of the kernel tier, and checks that no test is lost between tiers.
//
//	go test -json ./... | testtiers report -o host.json
//	testtiers kernel host.json                 # PACKAGE<TAB>-run pattern, one line each
//	testtiers rootless scripts/tiers.list      # the same for the rootless tier
//	testtiers summary host=host.json:81.2 kernel=uml.json:40.5 ...
//	testtiers check -list scripts/tiers.list -host host.json -kernel uml.json -rootless rootless.json
//
// report copies its input to the -o file and prints go test's usual
// non-verbose output: package lines ("ok  pkg 1.2s"), build errors, and the
// full output of every test that failed. It exits 1 when a test or a build
// failed.
//
// kernel lists, per package, the top-level tests that skipped saying "run
// with scripts/kerneltest" (nstest.RequireModules, nstest.RequireLinkKind,
// nstest.RequireFeature): exactly the tests the kernel tier runs.
//
// summary prints one line per tier: wall time and pass, skip and fail
// counts (every test, subtest and example result), then the failed tests.
//
// check fails when a test skipped in every tier without being listed as
// such (a "never" line of the tier list, with its reason), when a test the
// host sent to the kernel tier did not run there, and when a rootless
// pattern of the list matches no test that ran.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/netprim/netprim/nstest"
)

// KernelTierHint ends the skip reason of a test that needs the kernel tier.
const KernelTierHint = nstest.KernelTierHint

// event is one line of "go test -json" (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string
	Elapsed    float64
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "report":
		err = cmdReport(args)
	case "kernel":
		err = cmdKernel(args)
	case "rootless":
		err = cmdRootless(args)
	case "summary":
		err = cmdSummary(args)
	case "check":
		err = cmdCheck(args)
	default:
		usage()
	}
	if err != nil {
		var e exitError
		if !errors.As(err, &e) {
			fmt.Fprintln(os.Stderr, "testtiers:", err)
		}
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: testtiers report [-o FILE] | kernel FILE... | rootless LIST | summary NAME=FILE:SECONDS... | check -list LIST -host FILE -kernel FILE -rootless FILE")
	os.Exit(2)
}

// exitError makes main exit 1 without a message of its own.
type exitError struct{}

func (exitError) Error() string { return "failed" }

// testKey names one test of one package.
type testKey struct{ Pkg, Test string }

func (k testKey) String() string { return k.Pkg + "." + k.Test }

// result is what one test did in one or more runs.
type result struct {
	Pass, Skip, Fail int
	// Reason is the last skip message (the last line the test printed
	// before "--- SKIP").
	Reason string
}

// run holds the results of one tier: one or more go test -json streams.
type run struct {
	Tests  map[testKey]*result
	Order  []testKey
	Builds []string // packages whose build failed
	// PkgFail lists the packages whose test binary failed.
	PkgFail []string
	// output buffers the output of tests still running.
	output map[testKey][]string
}

func newRun() *run {
	return &run{Tests: map[testKey]*result{}, output: map[testKey][]string{}}
}

// orphanFailures returns the packages that failed without a failed test:
// a panic outside a test, TestMain, a crash of the test binary.
func (r *run) orphanFailures() []string {
	var out []string
	for _, p := range r.PkgFail {
		found := false
		for k, res := range r.Tests {
			if k.Pkg == p && res.Fail > 0 {
				found = true
				break
			}
		}
		if !found && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// add takes one event; for a finished test it returns its output.
func (r *run) add(e event) (done testKey, out []string, finished bool) {
	switch e.Action {
	case "build-fail":
		r.Builds = append(r.Builds, e.ImportPath)
		return
	}
	if e.Test == "" {
		if e.Action == "fail" {
			r.PkgFail = append(r.PkgFail, e.Package)
		}
		return
	}
	k := testKey{e.Package, e.Test}
	switch e.Action {
	case "output":
		r.output[k] = append(r.output[k], e.Output)
	case "pass", "skip", "fail":
		res := r.result(k)
		out = r.output[k]
		delete(r.output, k)
		switch e.Action {
		case "pass":
			res.Pass++
		case "skip":
			res.Skip++
			res.Reason = skipReason(out)
		case "fail":
			res.Fail++
		}
		return k, out, true
	}
	return
}

func (r *run) result(k testKey) *result {
	res := r.Tests[k]
	if res == nil {
		res = &result{}
		r.Tests[k] = res
		r.Order = append(r.Order, k)
	}
	return res
}

// skipReason is the last line of a skipped test's output that is not one
// of go test's own.
func skipReason(out []string) string {
	reason := ""
	for _, l := range out {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") {
			continue
		}
		reason = t
	}
	// "file_test.go:12: kernel lacks ...": drop the position.
	if i := strings.Index(reason, ": "); i > 0 && strings.Contains(reason[:i], ".go:") {
		reason = reason[i+2:]
	}
	return reason
}

// readRun reads go test -json streams. Lines that are not JSON are
// ignored.
func readRun(files ...string) (*run, error) {
	r := newRun()
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		err = scanEvents(fh, func(e event, _ []byte) { r.add(e) }, func([]byte) {})
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	return r, nil
}

func scanEvents(rd io.Reader, onEvent func(event, []byte), other func([]byte)) error {
	s := bufio.NewScanner(rd)
	s.Buffer(make([]byte, 1<<20), 64<<20)
	for s.Scan() {
		line := s.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			other(line)
			continue
		}
		onEvent(e, line)
	}
	return s.Err()
}

func cmdReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	outFile := fs.String("o", "", "append the JSON input to `file`")
	fs.Parse(args)
	var sink io.Writer = io.Discard
	if *outFile != "" {
		f, err := os.OpenFile(*outFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		bw := bufio.NewWriter(f)
		defer bw.Flush()
		sink = bw
	}
	stdout := bufio.NewWriter(os.Stdout)
	defer stdout.Flush()
	failed := report(os.Stdin, sink, stdout)
	if failed {
		return exitError{}
	}
	return nil
}

// report copies in to sink and prints go test's non-verbose output to w;
// it reports whether a test or build failed.
func report(in io.Reader, sink, w io.Writer) bool {
	r := newRun()
	failed := false
	flusher, _ := w.(interface{ Flush() error })
	scanEvents(in, func(e event, line []byte) {
		sink.Write(line)
		sink.Write([]byte("\n"))
		switch {
		case e.Action == "build-output":
			io.WriteString(w, e.Output)
		case e.Action == "build-fail":
			failed = true
		case e.Test == "" && e.Action == "output":
			// Package lines: "ok  pkg 1.2s", "FAIL pkg", "?  pkg [no test
			// files]", panics and timeouts outside a test.
			if t := strings.TrimSpace(e.Output); t != "PASS" && !strings.HasPrefix(e.Output, "=== ") {
				io.WriteString(w, e.Output)
			}
		case e.Test == "" && e.Action == "fail":
			failed = true
		}
		if _, out, ok := r.add(e); ok && e.Action == "fail" {
			failed = true
			for _, l := range out {
				if !strings.HasPrefix(l, "=== ") {
					io.WriteString(w, l)
				}
			}
		}
		if flusher != nil && e.Test == "" {
			flusher.Flush()
		}
	}, func(line []byte) {
		w.Write(line)
		w.Write([]byte("\n"))
		sink.Write(line)
		sink.Write([]byte("\n"))
	})
	return failed
}

// kernelTests returns, per package, the top-level tests of r that skipped
// (themselves or a subtest) saying KernelTierHint, sorted.
func kernelTests(r *run) (pkgs []string, tests map[string][]string) {
	tests = map[string][]string{}
	for _, k := range r.Order {
		res := r.Tests[k]
		if res.Skip == 0 || !strings.Contains(res.Reason, KernelTierHint) {
			continue
		}
		top, _, _ := strings.Cut(k.Test, "/")
		if !slices.Contains(tests[k.Pkg], top) {
			tests[k.Pkg] = append(tests[k.Pkg], top)
		}
	}
	for p := range tests {
		pkgs = append(pkgs, p)
		slices.Sort(tests[p])
	}
	slices.Sort(pkgs)
	return pkgs, tests
}

// runPattern is the go test -run pattern for exactly the named top-level
// tests.
func runPattern(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = regexp.QuoteMeta(n)
	}
	return "^(" + strings.Join(q, "|") + ")$"
}

func cmdKernel(args []string) error {
	if len(args) == 0 {
		usage()
	}
	r, err := readRun(args...)
	if err != nil {
		return err
	}
	pkgs, tests := kernelTests(r)
	for _, p := range pkgs {
		fmt.Printf("%s\t%s\n", p, runPattern(tests[p]))
	}
	return nil
}

// tierList is scripts/tiers.list.
type tierList struct {
	// Rootless holds, in file order, the package and -run pattern of
	// each "rootless" line.
	Rootless [][2]string
	// Never maps a test that skips in every tier (package as written in
	// the list, test) to the reason.
	Never map[testKey]string
}

// pkgIs reports whether the import path pkg is the package the list names
// as rel ("./link", "./internal/nl").
func pkgIs(pkg, rel string) bool {
	return strings.HasSuffix(pkg, strings.TrimPrefix(rel, "."))
}

// never returns the reason the list gives for test k to skip everywhere.
func (l *tierList) never(k testKey) (string, bool) {
	for n, reason := range l.Never {
		if n.Test == k.Test && pkgIs(k.Pkg, n.Pkg) {
			return reason, true
		}
	}
	return "", false
}

func readList(path string) (*tierList, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l := &tierList{Never: map[testKey]string{}}
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		switch {
		case (f[0] == "rootless" || f[0] == "never") && (!strings.HasPrefix(f[1], "./") || strings.Contains(f[1], "...")):
			return nil, fmt.Errorf("%s:%d: name one package as ./DIR, got %q", path, n, f[1])
		case f[0] == "rootless" && len(f) == 3:
			if _, err := regexp.Compile(f[2]); err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, n, err)
			}
			l.Rootless = append(l.Rootless, [2]string{f[1], f[2]})
		case f[0] == "never" && len(f) >= 4:
			l.Never[testKey{f[1], f[2]}] = strings.Join(f[3:], " ")
		default:
			return nil, fmt.Errorf("%s:%d: want \"rootless PACKAGE PATTERN\" or \"never PACKAGE TEST REASON\", got %q", path, n, line)
		}
	}
	return l, s.Err()
}

func cmdRootless(args []string) error {
	if len(args) != 1 {
		usage()
	}
	l, err := readList(args[0])
	if err != nil {
		return err
	}
	for _, r := range l.Rootless {
		fmt.Printf("%s\t%s\n", r[0], r[1])
	}
	return nil
}

// counts returns the numbers of passed, skipped and failed test results.
func (r *run) counts() (pass, skip, fail int) {
	for _, res := range r.Tests {
		pass += res.Pass
		skip += res.Skip
		fail += res.Fail
	}
	fail += len(r.orphanFailures()) + len(r.Builds)
	return
}

func cmdSummary(args []string) error {
	type tier struct {
		name string
		secs float64
		r    *run
	}
	var tiers []tier
	for _, a := range args {
		name, rest, ok := strings.Cut(a, "=")
		file, secs, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 {
			usage()
		}
		s, err := strconv.ParseFloat(secs, 64)
		if err != nil {
			return fmt.Errorf("%s: %v", a, err)
		}
		r := newRun()
		if _, err := os.Stat(file); err == nil {
			if r, err = readRun(file); err != nil {
				return err
			}
		}
		tiers = append(tiers, tier{name, s, r})
	}
	w := os.Stdout
	fmt.Fprintf(w, "%-12s %9s %7s %7s %7s\n", "tier", "wall", "pass", "skip", "fail")
	var total float64
	var tp, ts, tf int
	for _, t := range tiers {
		p, s, f := t.r.counts()
		fmt.Fprintf(w, "%-12s %8.1fs %7d %7d %7d\n", t.name, t.secs, p, s, f)
		total += t.secs
		tp, ts, tf = tp+p, ts+s, tf+f
	}
	fmt.Fprintf(w, "%-12s %8.1fs %7d %7d %7d\n", "total", total, tp, ts, tf)
	for _, t := range tiers {
		for _, b := range t.r.Builds {
			fmt.Fprintf(w, "FAIL %s: %s [build failed]\n", t.name, b)
		}
		for _, p := range t.r.orphanFailures() {
			fmt.Fprintf(w, "FAIL %s: %s (outside any test)\n", t.name, p)
		}
		for _, k := range t.r.Order {
			if res := t.r.Tests[k]; res.Fail > 0 {
				fmt.Fprintf(w, "FAIL %s: %s (%d of %d runs)\n", t.name, k, res.Fail, res.Pass+res.Skip+res.Fail)
			}
		}
	}
	return nil
}

func cmdCheck(args []string) error {
	fs := flag.NewFlagSet("check", flag.ExitOnError)
	listFile := fs.String("list", "", "the tier list")
	hostFile := fs.String("host", "", "go test -json of the host tier")
	kernelFile := fs.String("kernel", "", "go test -json of the kernel tier")
	rootlessFile := fs.String("rootless", "", "go test -json of the rootless tier")
	fs.Parse(args)
	if *listFile == "" || *hostFile == "" {
		usage()
	}
	l, err := readList(*listFile)
	if err != nil {
		return err
	}
	tiers := map[string]*run{}
	for name, f := range map[string]string{"host": *hostFile, "kernel": *kernelFile, "rootless": *rootlessFile} {
		r := newRun()
		if f != "" {
			if _, err := os.Stat(f); err == nil {
				if r, err = readRun(f); err != nil {
					return err
				}
			}
		}
		tiers[name] = r
	}
	problems, notes := check(l, tiers["host"], tiers["kernel"], tiers["rootless"])
	for _, n := range notes {
		fmt.Println("note:", n)
	}
	for _, p := range problems {
		fmt.Println("FAIL:", p)
	}
	if len(problems) > 0 {
		return exitError{}
	}
	return nil
}

// check returns what breaks the tier rules, and notes on stale entries of
// the list that do not (they depend on the machine's kernel).
func check(l *tierList, host, kernel, rootless *run) (problems, notes []string) {
	all := map[testKey]*result{}
	var order []testKey
	for _, r := range []*run{host, kernel, rootless} {
		for _, k := range r.Order {
			res := r.Tests[k]
			sum := all[k]
			if sum == nil {
				sum = &result{}
				all[k] = sum
				order = append(order, k)
			}
			sum.Pass += res.Pass
			sum.Skip += res.Skip
			sum.Fail += res.Fail
			if res.Skip > 0 {
				sum.Reason = res.Reason
			}
		}
	}
	for _, k := range order {
		res := all[k]
		if res.Pass > 0 || res.Fail > 0 {
			continue
		}
		if _, ok := l.never(k); !ok {
			problems = append(problems, fmt.Sprintf("%s skipped in every tier (%s): make it run in one, or list it in scripts/tiers.list as \"never\" with the reason", k, res.Reason))
		}
	}
	for _, k := range order {
		if _, ok := l.never(k); ok && all[k].Pass > 0 {
			notes = append(notes, fmt.Sprintf("%s is listed as never running but passed here", k))
		}
	}
	pkgs, tests := kernelTests(host)
	for _, p := range pkgs {
		for _, name := range tests[p] {
			k := testKey{p, name}
			if res := kernel.Tests[k]; res == nil || res.Pass+res.Skip+res.Fail == 0 {
				problems = append(problems, fmt.Sprintf("%s skipped on the host for the kernel tier but did not run there", k))
			}
		}
	}
	for _, sel := range l.Rootless {
		re := regexp.MustCompile(sel[1])
		ran := false
		for _, k := range rootless.Order {
			top, _, _ := strings.Cut(k.Test, "/")
			if re.MatchString(top) && pkgIs(k.Pkg, sel[0]) {
				ran = true
				break
			}
		}
		if !ran {
			problems = append(problems, fmt.Sprintf("rootless %s %s ran no test", sel[0], sel[1]))
		}
	}
	slices.Sort(problems)
	slices.Sort(notes)
	return problems, notes
}
