package provider

// Stats is a snapshot of the Provider's counters and queues for the STATS
// management command. Counters are read one by one: each value is exact,
// the whole is not one instant.
type Stats struct {
	// Drops counts dropped packets and requests, indexed by Reason.
	Drops [numReasons]uint64
	// Stored counts user messages spooled; RepliesStored SURB replies
	// spooled; AcksSent SURB-ACKs sent; KaetzchenReplies service replies
	// sent; Retrieved entries handed to clients (repeats included).
	Stored, RepliesStored, AcksSent, KaetzchenReplies, Retrieved uint64
	// DeliveryQueue and KaetzchenQueue are the queues' depths and
	// capacities.
	DeliveryQueue, DeliveryQueueCap   int
	KaetzchenQueue, KaetzchenQueueCap int
	// ConnectedUsers, Sessions and EphemeralUsers count clients.
	ConnectedUsers, Sessions, EphemeralUsers int
	// Services maps each configured service's capability to whether it
	// runs.
	Services map[string]bool
}

// Drop returns the count of one reason.
func (s Stats) Drop(r Reason) uint64 {
	if r < numReasons {
		return s.Drops[r]
	}
	return 0
}

// Stats returns a snapshot of the counters and queue depths.
func (p *Provider) Stats() Stats {
	var s Stats
	for i := range s.Drops {
		s.Drops[i] = p.count.drops[i].Load()
	}
	s.Stored = p.count.stored.Load()
	s.RepliesStored = p.count.repliesStored.Load()
	s.AcksSent = p.count.acksSent.Load()
	s.KaetzchenReplies = p.count.kaetzchenReplies.Load()
	s.Retrieved = p.count.retrieved.Load()
	s.DeliveryQueue, s.DeliveryQueueCap = len(p.deliveries), cap(p.deliveries)
	s.KaetzchenQueue, s.KaetzchenQueueCap = len(p.requests), cap(p.requests)
	s.ConnectedUsers, s.Sessions, s.EphemeralUsers = p.clients.counts()
	s.Services = make(map[string]bool, len(p.kz.byCapability))
	for _, c := range p.capabilities() {
		s.Services[c] = p.kz.byCapability[c].running.Load()
	}
	return s
}
