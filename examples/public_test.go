// Package examples_test checks that every program under examples/ is built
// on netprim's public API only, as a program outside this module would be.
//
// Every directory of examples/ that holds Go files is an example (new
// ones are found without changing this file). For each, TestPublicAPI
//
//  1. parses the imports of its .go files and fails on any package of
//     this module with an "internal" element in its path, and
//  2. copies the example into a fresh module outside the repository
//     (module example.com/copy, requiring github.com/netprim/netprim
//     replaced by this checkout, with this repository's go.sum) and runs
//     "go build ./..." and "go vet ./..." there, offline: GOPROXY=off,
//     GOFLAGS=-mod=mod, the local module and build caches.
//
// The Go compiler enforces the internal rule in the copy as well; the
// import check names the offending file and import directly.
//
//	go test ./examples/
//	go test -run 'TestPublicAPI/mesh' ./examples/
package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPublicAPI runs both checks for every example, one subtest per
// example directory.
func TestPublicAPI(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	module, goVersion := readGoMod(t, filepath.Join(root, "go.mod"))
	examples := findExamples(t, ".")
	if len(examples) == 0 {
		t.Fatal("no examples found under examples/")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the examples: %v", err)
	}
	for _, dir := range examples {
		t.Run(dir, func(t *testing.T) {
			checkImports(t, dir, module)
			buildCopy(t, gobin, root, dir, module, goVersion)
		})
	}
}

// readGoMod returns the module path and the go version of the go.mod file
// at name.
func readGoMod(t *testing.T, name string) (module, goVersion string) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		switch f[0] {
		case "module":
			module = strings.Trim(f[1], `"`)
		case "go":
			goVersion = f[1]
		}
	}
	if module == "" || goVersion == "" {
		t.Fatalf("%s: no module path or go version", name)
	}
	return module, goVersion
}

// findExamples returns the directories directly under dir that hold Go
// files (at any depth), sorted.
func findExamples(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() || ignoredDir(e.Name()) {
			continue
		}
		if len(goFiles(t, filepath.Join(dir, e.Name()))) > 0 {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// ignoredDir reports whether the go command ignores a directory of this
// name when it matches "./...".
func ignoredDir(name string) bool {
	return name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// goFiles returns the .go files under dir, in the directories the go
// command considers.
func goFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && ignoredDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// internalOf reports whether the import path p names an internal package
// of module: a package of module with an "internal" element in its path.
func internalOf(module, p string) bool {
	if p != module && !strings.HasPrefix(p, module+"/") {
		return false
	}
	for _, elem := range strings.Split(strings.TrimPrefix(p, module), "/") {
		if elem == "internal" {
			return true
		}
	}
	return false
}

// checkImports fails the test for every import of an internal package of
// module in the Go files of dir.
func checkImports(t *testing.T, dir, module string) {
	t.Helper()
	fset := token.NewFileSet()
	for _, name := range goFiles(t, dir) {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Errorf("parse: %v", err)
			continue
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Errorf("%s: bad import %s", fset.Position(imp.Pos()), imp.Path.Value)
				continue
			}
			if internalOf(module, p) {
				t.Errorf("%s: imports %s: examples may use the public API only", fset.Position(imp.Pos()), p)
			}
		}
	}
}

// buildCopy copies the example in dir into a new module outside the
// repository that depends on this checkout of module, and runs go build
// and go vet there.
func buildCopy(t *testing.T, gobin, root, dir, module, goVersion string) {
	t.Helper()
	mod := t.TempDir()
	if err := os.CopyFS(mod, os.DirFS(dir)); err != nil {
		t.Fatalf("copy %s: %v", dir, err)
	}
	gomod := "module example.com/copy\n\ngo " + goVersion + "\n\n" +
		"require " + module + " v0.0.0\n\n" +
		"replace " + module + " => " + strconv.Quote(root) + "\n"
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"build", "-o", os.DevNull, "./..."}, {"vet", "./..."}} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, gobin, args...)
		cmd.Dir = mod
		// Offline, with the module cache and build cache of the caller;
		// -mod=mod lets go add the requirements the example needs from
		// netprim's module graph.
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("copy of examples/%s as a module of its own: go %s: %v\n%s", path.Base(dir), strings.Join(args, " "), err, out)
		}
	}
}
