using DurableStreams.Subscriptions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DurableStreams.Extensions.DependencyInjection;

/// <summary>
/// A hosted pull worker of one subscription: runs while the host runs, hands each batch to
/// <see cref="HandleAsync"/> (return to ack it, throw to have it delivered again after the
/// failure backoff), and restarts with a growing delay after a failure retrying cannot cure (the
/// subscription or its wake stream does not exist yet, the server is down). Derive from it, or
/// register an <see cref="ISubscriptionBatchHandler"/> with
/// <see cref="Microsoft.Extensions.DependencyInjection.SubscriptionWorkerServiceCollectionExtensions.AddDurableStreamsSubscriptionWorker{THandler}"/>.
/// </summary>
public abstract class SubscriptionWorkerService : BackgroundService
{
    private readonly DurableStreamClient _client;
    private readonly PullWorkerOptions _options;
    private readonly ILogger? _logger;
    private SubscriptionWorker? _worker;

    /// <summary>Creates the service.</summary>
    /// <param name="client">The client of the server the subscription lives on (its base URL is the stream root).</param>
    /// <param name="subscriptionId">The subscription to consume (a pull-wake subscription).</param>
    /// <param name="options">The worker's name and timings.</param>
    /// <param name="logger">Where restarts are logged; null for none.</param>
    protected SubscriptionWorkerService(DurableStreamClient client, string subscriptionId, PullWorkerOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(subscriptionId);
        ArgumentNullException.ThrowIfNull(options);
        _client = client;
        SubscriptionId = subscriptionId;
        _options = options;
        _logger = logger;
    }

    /// <summary>The subscription this service consumes.</summary>
    public string SubscriptionId { get; }

    /// <summary>The running worker's counters; null while no worker runs.</summary>
    public SubscriptionWorkerStats? Stats
    {
        get
        {
            try
            {
                return Volatile.Read(ref _worker)?.Stats;
            }
            catch (ObjectDisposedException)
            {
                return null; // the worker is being replaced
            }
        }
    }

    /// <summary>How many times the worker was restarted after a failure.</summary>
    public int Restarts { get; private set; }

    /// <summary>Handles one batch. Return to ack it; throw (or call <see cref="SubscriptionBatch.Fail"/>) to have it delivered again.</summary>
    /// <param name="batch">The messages of one linked stream.</param>
    /// <param name="cancellationToken">Fires when the host stops or the batch's lease is lost.</param>
    /// <returns>A task that completes when the batch is handled.</returns>
    protected abstract ValueTask HandleAsync(SubscriptionBatch batch, CancellationToken cancellationToken);

    /// <summary>The delay before restart number <paramref name="attempt"/> (1, 2, ...): 1 s doubling up to 30 s.</summary>
    /// <param name="attempt">The restart's number.</param>
    /// <returns>The delay.</returns>
    protected virtual TimeSpan RestartDelay(int attempt) =>
        TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, Math.Min(attempt - 1, 5))));

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                using var worker = _client.Subscription(SubscriptionId).CreateWorker(_options);
                Volatile.Write(ref _worker, worker);
                await worker.RunAsync(HandleAsync, stoppingToken).ConfigureAwait(false);
                if (!stoppingToken.IsCancellationRequested)
                {
                    // The wake stream was closed: nothing more will ever be delivered.
                    return;
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested && e is not ArgumentException)
            {
                Restarts++;
                var delay = RestartDelay(Restarts);
                if (_logger is not null)
                {
                    SubscriptionWorkerLog.Restarting(_logger, SubscriptionId, _options.WorkerName, delay, e);
                }
                try
                {
                    await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            finally
            {
                Volatile.Write(ref _worker, null);
            }
        }
    }
}

/// <summary>The log events of hosted subscription workers.</summary>
internal static partial class SubscriptionWorkerLog
{
    [LoggerMessage(EventId = 30, EventName = "SubscriptionWorkerRestarting", Level = LogLevel.Error,
        Message = "Pull worker {Worker} of subscription {Subscription} failed; restarting in {Delay}")]
    internal static partial void Restarting(ILogger logger, string subscription, string worker, TimeSpan delay, Exception exception);
}
