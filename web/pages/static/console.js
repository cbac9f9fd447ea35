// Producer console: the event's status and booth signals over one WebSocket,
// and the producer's controls through the JSON API.
document.documentElement.dataset.ready = 'true';
