package resolv

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// bigHosts returns a hosts spec of about 100 kB whose lines depend on v, so
// that a torn write would be visible.
func bigHosts(v int) HostsSpec {
	var s HostsSpec
	for i := range 2000 {
		a := netip.AddrFrom4([4]byte{10, byte(v), byte(i >> 8), byte(i)})
		s.Entries = append(s.Entries, HostEntry{Address: a, Names: []string{fmt.Sprintf("host-%d-%d.example.internal", v, i), fmt.Sprintf("h%d-%d", v, i)}})
	}
	return s
}

// TestAtomicUnderKill kills a writer process with SIGKILL at random moments,
// again and again, while this process reads the file in a loop: every read
// must be one of the two complete versions, never a part of one.
func TestAtomicUnderKill(t *testing.T) {
	ctx := context.Background()
	if os.Getenv(helperEnv) == "writer" {
		root := os.Getenv("NETPRIM_RESOLV_ROOT")
		fmt.Println("writing")
		for i := 0; ; i++ {
			if _, err := ApplyHosts(ctx, root, bigHosts((i+1)%2)); err != nil {
				fmt.Println(err)
				os.Exit(1)
			}
		}
	}
	if testing.Short() {
		t.Skip("kills a writer process many times; skipped with -short")
	}
	root := t.TempDir()
	if _, err := ApplyHosts(ctx, root, bigHosts(0)); err != nil {
		t.Fatal(err)
	}
	want := [2][]byte{RenderHosts(bigHosts(0)), RenderHosts(bigHosts(1))}
	path := filepath.Join(root, HostsPath)

	var (
		stop   = make(chan struct{})
		wg     sync.WaitGroup
		seen   [2]atomic.Int64
		reads  int
		broken []string
	)
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := os.ReadFile(path)
			reads++
			switch {
			case err != nil:
				broken = append(broken, err.Error())
			case bytes.Equal(b, want[0]):
				seen[0].Add(1)
			case bytes.Equal(b, want[1]):
				seen[1].Add(1)
			default:
				broken = append(broken, fmt.Sprintf("a read of %d bytes matches neither version (%d and %d bytes)", len(b), len(want[0]), len(want[1])))
			}
		}
	})
	kills := 0
	for i := 0; i < 200 && (kills < 30 || seen[1].Load() == 0); i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAtomicUnderKill$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"=writer", "NETPRIM_RESOLV_ROOT="+root)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until the writer runs, then let it write for a random while.
		buf := make([]byte, 8)
		out.Read(buf)
		// Up to 30 ms covers many writes on a fast machine; where no write
		// completed yet (a slow kernel tier: one CPU, slow process start,
		// hostfs fsync), widen the window so that some writes finish.
		window := 30_000
		if i >= 50 && seen[1].Load() == 0 {
			window = 1_000_000
		}
		time.Sleep(time.Duration(rand.IntN(window)) * time.Microsecond)
		cmd.Process.Kill() // SIGKILL
		cmd.Wait()
		kills++
	}
	close(stop)
	wg.Wait()
	if len(broken) > 0 {
		t.Fatalf("%d of %d reads saw a broken file, first: %s", len(broken), reads, broken[0])
	}
	if seen[1].Load() == 0 {
		t.Fatalf("the writer never completed a write in %d runs: the test proves nothing", kills)
	}
	if _, err := ParseHosts(mustRead(t, path)); err != nil {
		t.Fatalf("file after the kills: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	var temps []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".hosts.tmp-") {
			temps = append(temps, e.Name())
		}
	}
	t.Logf("%d kills, %d reads: %d of version 0, %d of version 1, none broken; %d temporary files left by killed writers",
		kills, reads, seen[0].Load(), seen[1].Load(), len(temps))
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
