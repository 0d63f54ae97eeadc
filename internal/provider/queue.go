package provider

// enqueue hands v to a worker queue without blocking: refused, and counted
// DropShuttingDown, once Close has begun; refused, and counted as full,
// when the queue is at its bound. Deliveries and Kaetzchen requests share
// it. Close takes p.mu for writing before it closes the queues, so a send
// under the read lock never meets a closed channel.
func enqueue[T any](p *Provider, queue chan<- T, v T, full Reason) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		p.count.drop(DropShuttingDown)
		return false
	}
	select {
	case queue <- v:
		return true
	default:
		p.count.drop(full)
		return false
	}
}
