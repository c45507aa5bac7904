using System.Collections.Concurrent;
using System.Diagnostics;
using DurableStreams.Diagnostics;
using DurableStreams.Interop;

namespace DurableStreams;

// IdempotentProducer: delivery errors (OnError): raised in order on the thread pool, counted and logged.
public partial class IdempotentProducer
{
    /// <summary>
    /// Holds the OnError handlers (the GCHandle given to the native producer points here, not at
    /// the producer, so an abandoned producer can still be collected) and raises events on the
    /// thread pool, one at a time, in order.
    /// </summary>
    private sealed class ErrorSink : INativeProducerErrorSink
    {
        private readonly ConcurrentQueue<ProducerErrorEventArgs> _queue = new();
        private EventHandler<ProducerErrorEventArgs>? _handlers;
        private int _draining;

        internal WeakReference<IdempotentProducer>? Owner { get; set; }

        internal Microsoft.Extensions.Logging.ILogger? Logger { get; set; }

        internal TelemetryTarget? Target { get; set; }

        internal string ProducerId { get; set; } = string.Empty;

        internal void Add(EventHandler<ProducerErrorEventArgs>? handler)
        {
            EventHandler<ProducerErrorEventArgs>? current, updated;
            do
            {
                current = _handlers;
                updated = (EventHandler<ProducerErrorEventArgs>?)Delegate.Combine(current, handler);
            }
            while (Interlocked.CompareExchange(ref _handlers, updated, current) != current);
        }

        internal void Remove(EventHandler<ProducerErrorEventArgs>? handler)
        {
            EventHandler<ProducerErrorEventArgs>? current, updated;
            do
            {
                current = _handlers;
                updated = (EventHandler<ProducerErrorEventArgs>?)Delegate.Remove(current, handler);
            }
            while (Interlocked.CompareExchange(ref _handlers, updated, current) != current);
        }

        private long _failedMessages;

        /// <summary>Messages reported lost through <see cref="OnDeliveryFailed"/> or <see cref="AddFailed"/> (the shutdown report excludes them).</summary>
        internal long FailedMessages => Interlocked.Read(ref _failedMessages);

        internal void AddFailed(long messages) => Interlocked.Add(ref _failedMessages, messages);

        /// <inheritdoc/>
        public void OnDeliveryFailed(ProducerErrorEventArgs args)
        {
            AddFailed(args.MessageCount);
            Raise(args);
        }

        internal void Raise(ProducerErrorEventArgs args)
        {
            Record(args);
            _queue.Enqueue(args);
            if (Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static sink => sink.Drain(), this, preferLocal: false);
            }
        }

        /// <summary>Counts the failure and logs it (the message count, sequence range and error code; never headers).</summary>
        private void Record(ProducerErrorEventArgs args)
        {
            var (code, status) = Log.Details(args.Exception);
            var tags = new TagList
            {
                { "durablestreams.operation", "produce" },
                { "server.address", Target?.ServerAddress },
                { "error.type", code },
            };
            if (status is { } s)
            {
                tags.Add("http.response.status_code", s);
            }
            Telemetry.Errors.Add(1, tags);
            Telemetry.ProducerFailedMessages.Add(args.MessageCount, new KeyValuePair<string, object?>("server.address", Target?.ServerAddress));
            if (Logger is { } logger)
            {
                Log.ProducerDeliveryFailed(logger, ProducerId, args.Epoch, Target?.SafeUrl ?? string.Empty, args.MessageCount, args.FirstSeq, args.LastSeq, code, status, args.Exception);
            }
        }

        private void Drain()
        {
            while (true)
            {
                while (_queue.TryDequeue(out var args))
                {
                    IdempotentProducer? sender = null;
                    Owner?.TryGetTarget(out sender);
                    Volatile.Read(ref _handlers)?.Invoke(sender, args);
                }
                Volatile.Write(ref _draining, 0);
                if (_queue.IsEmpty || Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
                {
                    return;
                }
            }
        }
    }
}
