package kube

import (
	"context"
	"testing"
	"time"
)

// BenchmarkHandover measures how long the Lease takes to move from one node
// to a waiting candidate (TTL 4 s, retry period 500 ms, reads delayed up to
// 30 ms): after the leader resigned, and after it was cut off from the API
// server right after a renewal. Run with -benchtime=5x; each cut takes
// about two seconds.
func BenchmarkHandover(b *testing.B) {
	for _, how := range []string{"resign", "cut"} {
		b.Run(how, func(b *testing.B) {
			s := newAPIServer(readDelay)
			x := s.newNode(b, "node-x", Options{TTL: testTTL})
			y := s.newNode(b, "node-y", Options{TTL: testTTL})
			var total time.Duration
			for i := 0; i < b.N; i++ {
				leader, next := x, y
				if i%2 == 1 {
					leader, next = y, x
				}
				term := mustCampaign(b, leader)
				won := make(chan *Term, 1)
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					t, err := next.e.Campaign(ctx)
					if err != nil {
						b.Error(err)
						won <- nil
						return
					}
					won <- t.(*Term)
				}()
				time.Sleep(3 * next.e.opts.RetryPeriod) // the candidate has read the Lease
				start := time.Now()
				if how == "resign" {
					resign(b, leader, term)
				} else {
					<-term.Renewed()
					leader.down.Store(true)
				}
				t := <-won
				total += time.Since(start)
				if t == nil {
					b.FailNow()
				}
				resign(b, leader, term)
				resign(b, next, t)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/handover")
		})
	}
}
