using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Identity;
using Distill.Core.Errors;
using Polly;
using Polly.Retry;

namespace Distill.Teachers.Batch;

/// <summary>
/// The Files and Batch REST APIs in their two shapes. Azure OpenAI: <c>{Endpoint}/openai/files</c> and <c>/openai/batches</c> with
/// <c>?api-version=</c>, the <c>api-key</c> header (or an Entra ID token when the teacher has no <c>ApiKeyEnv</c>). OpenAI:
/// <c>{Endpoint}/files</c> and <c>/batches</c> (the endpoint includes <c>/v1</c>), Bearer key. Written against the REST shapes
/// because OpenAI 2.1.0's batch client is protocol-only and experimental. Transient failures (408, 429, 5xx, timeouts, dropped
/// connections) are retried with exponential backoff (the teacher's <c>MaxRetries</c>, <c>RetryBaseDelay</c>,
/// <c>RetryMaxDelay</c>) and then thrown as <see cref="TeacherTransientException"/>; refusals are <see cref="DistillException"/>s.
/// The key is read from the teacher's environment variable only and is redacted from every message.
/// </summary>
public sealed class BatchApiClient : IDisposable
{
    /// <summary>An upload or download of a file up to the 200 MB limit may take this long.</summary>
    private static readonly TimeSpan TransferTimeout = TimeSpan.FromMinutes(30);

    private readonly HttpClient _http;
    private readonly TeacherOptions _options;
    private readonly string? _key;
    private readonly TokenCredential? _credential;
    private readonly ResiliencePipeline _retry;
    private readonly SecretRedactor _redactor;

    /// <param name="handler">HTTP handler override (tests); defaults to a plain <see cref="HttpClientHandler"/>.</param>
    /// <param name="environment">Reads the API key's environment variable; defaults to the process environment.</param>
    public BatchApiClient(TeacherOptions options, HttpMessageHandler? handler = null, Func<string, string?>? environment = null)
    {
        options.ThrowIfInvalid();
        _options = options;
        environment ??= Environment.GetEnvironmentVariable;
        if (options.ApiKeyEnv is not null)
        {
            _key = environment(options.ApiKeyEnv);
            if (string.IsNullOrWhiteSpace(_key))
                throw new DistillException($"Teacher '{options.Name}' reads its API key from the environment variable {options.ApiKeyEnv}, which is not set.",
                    $"set {options.ApiKeyEnv}");
        }
        else if (IsAzure)
        {
            _credential = new DefaultAzureCredential();
        }
        _redactor = new SecretRedactor(_key);
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.Timeout = Timeout.InfiniteTimeSpan; // each call sets its own (see SendAsync)
        _retry = options.MaxRetries < 1 ? ResiliencePipeline.Empty : new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<TeacherTransientException>(),
            MaxRetryAttempts = options.MaxRetries,
            Delay = options.RetryBaseDelay,
            MaxDelay = options.RetryMaxDelay,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
        }).Build();
    }

    public bool IsAzure => _options.Provider == TeacherProviders.AzureOpenAI;

    /// <summary>Uploads a JSONL file with purpose <c>batch</c>; returns the file id.</summary>
    public async Task<string> UploadAsync(string fileName, byte[] jsonl, CancellationToken ct)
    {
        var json = Object(await SendAsync(() =>
        {
            var form = new MultipartFormDataContent { { new StringContent("batch"), "purpose" } };
            var file = new ByteArrayContent(jsonl);
            file.Headers.ContentType = new MediaTypeHeaderValue("application/jsonl");
            form.Add(file, "file", fileName);
            return new HttpRequestMessage(HttpMethod.Post, Url("files")) { Content = form };
        }, TransferTimeout, ct).ConfigureAwait(false));
        return json["id"] is JsonValue v && v.TryGetValue<string>(out var id) ? id : throw Malformed("the file upload returned no id");
    }

    /// <summary>Creates a batch over an uploaded file, for the chat-completions endpoint, with the 24 h completion window.</summary>
    public async Task<BatchInfo> CreateAsync(string inputFileId, CancellationToken ct)
    {
        var body = new JsonObject { ["input_file_id"] = inputFileId, ["endpoint"] = BatchLines.ChatUrl(_options), ["completion_window"] = "24h" }.ToJsonString();
        return Info(Object(await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, Url("batches")) { Content = new StringContent(body, Encoding.UTF8, "application/json") },
            _options.AttemptTimeout, ct).ConfigureAwait(false)));
    }

    public async Task<BatchInfo> GetAsync(string batchId, CancellationToken ct) =>
        Info(Object(await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, Url($"batches/{Uri.EscapeDataString(batchId)}")), _options.AttemptTimeout, ct).ConfigureAwait(false)));

    /// <summary>Asks the provider to cancel a batch: it goes to <c>cancelling</c>, then <c>cancelled</c> with the lines it completed in its output file.</summary>
    public async Task<BatchInfo> CancelAsync(string batchId, CancellationToken ct) =>
        Info(Object(await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, Url($"batches/{Uri.EscapeDataString(batchId)}/cancel")), _options.AttemptTimeout, ct).ConfigureAwait(false)));

    /// <summary>A file's content: an output or error file, JSONL.</summary>
    public Task<string> DownloadAsync(string fileId, CancellationToken ct) =>
        SendAsync(() => new HttpRequestMessage(HttpMethod.Get, Url($"files/{Uri.EscapeDataString(fileId)}/content")), TransferTimeout, ct);

    public void Dispose() => _http.Dispose();

    private Uri Url(string path)
    {
        var root = _options.Endpoint.TrimEnd('/');
        return new Uri(IsAzure ? $"{root}/openai/{path}?api-version={Uri.EscapeDataString(_options.ApiVersion)}" : $"{root}/{path}");
    }

    /// <summary>One call with retries; returns the body of a 2xx answer.</summary>
    private async Task<string> SendAsync(Func<HttpRequestMessage> build, TimeSpan timeout, CancellationToken ct) =>
        await _retry.ExecuteAsync(async token =>
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(token);
            attempt.CancelAfter(timeout);
            try
            {
                using var request = await AuthorizeAsync(build(), attempt.Token).ConfigureAwait(false);
                using var response = await _http.SendAsync(request, attempt.Token).ConfigureAwait(false);
                var text = await response.Content.ReadAsStringAsync(attempt.Token).ConfigureAwait(false);
                ThrowIfFailed(response.StatusCode, text);
                return text;
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested)
            {
                throw new TeacherTransientException(_options.Name, $"Batch API of teacher '{_options.Name}' did not answer within {timeout}", null, null);
            }
            catch (HttpRequestException e)
            {
                throw new TeacherTransientException(_options.Name, _redactor.Redact($"Batch API of teacher '{_options.Name}' could not be reached: {e.Message.ReplaceLineEndings(" ")}"), null, null);
            }
        }, ct).ConfigureAwait(false);

    private async Task<HttpRequestMessage> AuthorizeAsync(HttpRequestMessage request, CancellationToken ct)
    {
        if (_credential is not null)
        {
            var token = await _credential.GetTokenAsync(new TokenRequestContext(["https://cognitiveservices.azure.com/.default"]), ct).ConfigureAwait(false);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
        }
        else if (IsAzure) request.Headers.Add("api-key", _key);
        else request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _key ?? "no-key");
        return request;
    }

    private void ThrowIfFailed(HttpStatusCode status, string body)
    {
        var code = (int)status;
        if (code is >= 200 and < 300) return;
        var detail = ErrorMessage(body);
        if (code is 408 or 429 or >= 500)
            throw new TeacherTransientException(_options.Name, _redactor.Redact($"Batch API of teacher '{_options.Name}' failed transiently: HTTP {code}{detail}"), code, null);
        throw new DistillException(_redactor.Redact($"The Batch API of teacher '{_options.Name}' refused a request (HTTP {code}){detail}"),
            code switch
            {
                401 or 403 => _options.ApiKeyEnv is null ? "check the signed-in identity's access to the resource" : $"check the key in {_options.ApiKeyEnv} and its access to the resource",
                404 => IsAzure ? "check Endpoint and ApiVersion (batches need 2024-10-21) and that the deployment is a Global Batch deployment" : "check Endpoint (include /v1)",
                _ => "check the teacher settings; batches already submitted are listed in the dataset's batch/state.json (use --resume)",
            });
    }

    private static string ErrorMessage(string body)
    {
        try
        {
            if (JsonNode.Parse(body)?["error"]?["message"] is JsonValue v && v.TryGetValue<string>(out var message))
                return ": " + (message.Length > 200 ? message[..200] + "..." : message).ReplaceLineEndings(" ");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { }
        return "";
    }

    private JsonObject Object(string text)
    {
        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw Malformed("the response is not a JSON object");
        }
        catch (JsonException)
        {
            throw Malformed("the response is not JSON");
        }
    }

    private BatchInfo Info(JsonObject json)
    {
        string? S(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        var errors = json["errors"]?["data"] is JsonArray data
            ? string.Join("; ", data.Select(e => $"{S(e?["code"])}: {S(e?["message"])}"))
            : null;
        return new BatchInfo(S(json["id"]) ?? throw Malformed("a batch without an id"), S(json["status"]) ?? throw Malformed("a batch without a status"),
            S(json["input_file_id"]), S(json["output_file_id"]), S(json["error_file_id"]), string.IsNullOrEmpty(errors) ? null : errors);
    }

    private TeacherMalformedResponseException Malformed(string what) => new(_options.Name, $"Batch API: {what}");
}
