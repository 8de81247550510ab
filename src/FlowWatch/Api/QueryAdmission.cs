using Prometheus;

namespace FlowWatch.Api;

/// <summary>Admission control of the query API: bounded answer memory, bounded concurrent scans, a bounded queue with a deadline.</summary>
/// <remarks>
/// Waiters for memory are served first come, first served, so a large answer is not starved by small ones.
/// A query holds its memory until its answer is written and its scan slot only while it scans the store.
/// Every refusal is counted in <c>flowwatch_api_queries_refused_total{reason}</c>.
/// </remarks>
public sealed class QueryAdmission
{
    private readonly QueryAdmissionOptions _options;
    private readonly SemaphoreSlim _scans;
    private readonly Lock _lock = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly Counter _refused;
    private readonly Gauge _queued, _running, _memory;
    private long _memoryInUse;
    private int _queuedCount;

    public QueryAdmission(QueryAdmissionOptions options, IMetricFactory metrics)
    {
        options.Validate();
        _options = options;
        _scans = new SemaphoreSlim(options.MaxConcurrent, options.MaxConcurrent);
        _refused = metrics.CreateCounter("flowwatch_api_queries_refused_total",
            "API queries refused to keep ingest ahead: queue_full (429) or queue_timeout (503).", new CounterConfiguration { LabelNames = ["reason"] });
        foreach (var r in new[] { "queue_full", "queue_timeout" }) _refused.WithLabels(r);
        _queued = metrics.CreateGauge("flowwatch_api_queries_queued", "API queries waiting for admission.");
        _running = metrics.CreateGauge("flowwatch_api_queries_scanning", "API queries scanning the store now.");
        _memory = metrics.CreateGauge("flowwatch_api_answer_memory_bytes", "Memory reserved by API answers being built or written.");
    }

    public QueryAdmissionOptions Options => _options;

    /// <summary>Memory reserved by answers in flight.</summary>
    public long MemoryInUse { get { lock (_lock) return _memoryInUse; } }

    /// <summary>Waits for memory and a scan slot; a refusal says why and when to retry.</summary>
    public async Task<Admission> EnterAsync(long answerBytes, CancellationToken ct)
    {
        var need = Math.Clamp(answerBytes, 1, _options.AnswerMemoryBytes);
        var deadline = DateTime.UtcNow + _options.QueueTimeout;
        Waiter? waiter = null;
        lock (_lock)
        {
            var memoryFree = _waiters.Count == 0 && _memoryInUse + need <= _options.AnswerMemoryBytes;
            if ((!memoryFree || _scans.CurrentCount == 0) && _queuedCount >= _options.MaxQueued) return Refuse("queue_full");
            if (memoryFree) Reserve(need);
            else waiter = Enqueue(need);
        }
        if (waiter is not null && !await WaitGranted(waiter, deadline, ct).ConfigureAwait(false))
        {
            ct.ThrowIfCancellationRequested();
            return Refuse("queue_timeout");
        }
        try
        {
            var left = deadline - DateTime.UtcNow;
            if (left < TimeSpan.Zero) left = TimeSpan.Zero;
            bool slot;
            lock (_lock) _queuedCount++;
            _queued.Inc();
            try { slot = await _scans.WaitAsync(left, ct).ConfigureAwait(false); }
            finally
            {
                lock (_lock) _queuedCount--;
                _queued.Dec();
            }
            if (!slot)
            {
                Release(need);
                return Refuse("queue_timeout");
            }
            _running.Inc();
            return new Admission(this, need);
        }
        catch (OperationCanceledException)
        {
            Release(need);
            throw;
        }
    }

    private async Task<bool> WaitGranted(Waiter waiter, DateTime deadline, CancellationToken ct)
    {
        _queued.Inc();
        try
        {
            var left = deadline - DateTime.UtcNow;
            await waiter.Granted.Task.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, ct).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            lock (_lock)
            {
                if (!waiter.Granted.Task.IsCompleted)
                {
                    // Still waiting: leave the queue with nothing reserved.
                    _waiters.Remove(waiter.Node);
                    _queuedCount--;
                    waiter.Granted.TrySetCanceled();
                    return false;
                }
            }
            // Granted while timing out or cancelled: the memory is ours, the caller uses or releases it.
            return true;
        }
        finally { _queued.Dec(); }
    }

    private Waiter Enqueue(long need)
    {
        var waiter = new Waiter(need);
        waiter.Node = _waiters.AddLast(waiter);
        _queuedCount++;
        return waiter;
    }

    private void Reserve(long need)
    {
        _memoryInUse += need;
        _memory.Set(_memoryInUse);
    }

    private Admission Refuse(string reason)
    {
        _refused.WithLabels(reason).Inc();
        // A full queue clears within about one timeout; a timed-out wait says the scans are busy for longer.
        var retry = reason == "queue_full" ? 1 : Math.Max(1, (int)Math.Ceiling(_options.QueueTimeout.TotalSeconds));
        return new Admission(reason == "queue_full" ? 429 : 503, retry, reason == "queue_full"
            ? $"too many queries waiting ({_options.MaxQueued}); ingest has priority, retry after {retry}s"
            : $"no query slot free within {_options.QueueTimeout.TotalSeconds:0.#}s; ingest has priority, retry after {retry}s");
    }

    internal void EndScan()
    {
        _running.Dec();
        _scans.Release();
    }

    internal void Release(long need)
    {
        List<Waiter>? wake = null;
        lock (_lock)
        {
            _memoryInUse -= need;
            while (_waiters.First is { } first && _memoryInUse + first.Value.Need <= _options.AnswerMemoryBytes)
            {
                _waiters.RemoveFirst();
                _queuedCount--;
                Reserve(first.Value.Need);
                (wake ??= []).Add(first.Value);
            }
            _memory.Set(_memoryInUse);
        }
        if (wake is null) return;
        foreach (var w in wake)
            if (!w.Granted.TrySetResult()) Release(w.Need);
    }

    private sealed class Waiter(long need)
    {
        public long Need { get; } = need;
        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public LinkedListNode<Waiter> Node { get; set; } = null!;
    }
}

/// <summary>The outcome of <see cref="QueryAdmission.EnterAsync"/>: admitted (dispose when the answer is written), or refused with a status.</summary>
public sealed class Admission : IDisposable
{
    private readonly QueryAdmission? _gate;
    private readonly long _memory;
    private int _scanning, _disposed;

    internal Admission(QueryAdmission gate, long memory)
    {
        _gate = gate;
        _memory = memory;
        _scanning = 1;
    }

    internal Admission(int status, int retryAfterSeconds, string reason)
    {
        Status = status;
        RetryAfterSeconds = retryAfterSeconds;
        Reason = reason;
    }

    public bool Admitted => _gate is not null;
    public int Status { get; } = 200;
    public int RetryAfterSeconds { get; }
    public string? Reason { get; }

    /// <summary>The scan is over: frees the scan slot for the next query (the memory stays until dispose).</summary>
    public void EndScan()
    {
        if (_gate is not null && Interlocked.Exchange(ref _scanning, 0) == 1) _gate.EndScan();
    }

    public void Dispose()
    {
        if (_gate is null || Interlocked.Exchange(ref _disposed, 1) == 1) return;
        EndScan();
        _gate.Release(_memory);
    }
}
