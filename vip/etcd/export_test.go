package etcd

import "time"

// LastProvenUntil returns the latest ProvenUntil t ever had, also after it
// ended (when ProvenUntil is zero).
func LastProvenUntil(t *Term) time.Time {
	return t.proof.Last()
}
