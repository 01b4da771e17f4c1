using Distill.Core.Samples;

namespace Distill.Data.Storage;

/// <summary>The one place that converts between Core sample records and Parquet storage rows.</summary>
/// <remarks>
/// Lossy by design in two documented ways: <c>created_at</c> is stored with microsecond precision (UTC), and a
/// <see cref="GenerationParams"/> whose four fields are all null reads back as a null <see cref="Sample.Params"/>.
/// </remarks>
public static class SampleRowMapper
{
    public static SampleRow ToRow(Sample sample) => Fill(new SampleRow(), sample, withLogprobs: true);

    /// <summary>The row without <c>messages[].logprobs</c> (compact shards store them in their own columns).</summary>
    public static SampleRow ToRow(Sample sample, bool withLogprobs) => Fill(new SampleRow(), sample, withLogprobs);

    public static RejectRow ToRow(RejectedSample rejected)
    {
        var row = Fill(new RejectRow(), rejected.Sample, withLogprobs: true);
        row.RejectReason = rejected.RejectReason;
        return row;
    }

    public static Sample ToSample(SampleRow row) => new()
    {
        Id = row.Id,
        Kind = row.Kind,
        Messages = row.Messages.Select(ToMessage).ToArray(),
        Tools = row.Tools,
        Answer = row.Answer,
        Rationale = row.Rationale,
        TemplateId = row.TemplateId,
        TemplateVersion = row.TemplateVersion,
        Recipe = row.Recipe,
        Teacher = row.TeacherProvider is null && row.TeacherModel is null && row.TeacherTokenizerId is null
            ? null
            : new TeacherInfo(row.TeacherProvider ?? "", row.TeacherModel ?? "", row.TeacherTokenizerId),
        Params = row.Temperature is null && row.TopP is null && row.Seed is null && row.MaxTokens is null
            ? null
            : new GenerationParams(row.Temperature, row.TopP, row.Seed, row.MaxTokens),
        SeedInput = row.SeedInput,
        CreatedAt = new DateTimeOffset(DateTime.SpecifyKind(row.CreatedAt, DateTimeKind.Utc), TimeSpan.Zero),
        PrivilegedContextUsed = row.PrivilegedContextUsed,
        Verified = row.Verified,
        Verifier = row.Verifier,
        Score = row.Score,
        PromptTokens = row.PromptTokens,
        CompletionTokens = row.CompletionTokens,
        CostUsd = row.CostUsd,
        LatencyMs = row.LatencyMs,
    };

    public static RejectedSample ToRejected(RejectRow row) => new(ToSample(row), row.RejectReason);

    /// <summary>Truncates to the microsecond precision the <c>created_at</c> column stores.</summary>
    public static DateTime ToStoredTimestamp(DateTimeOffset value)
    {
        var utc = value.UtcDateTime;
        return new DateTime(utc.Ticks - utc.Ticks % 10, DateTimeKind.Utc);
    }

    private static T Fill<T>(T row, Sample s, bool withLogprobs) where T : SampleRow
    {
        row.Id = s.Id;
        row.Kind = s.Kind;
        row.Messages = s.Messages.Select(m => ToRow(m, withLogprobs)).ToList();
        row.Tools = s.Tools;
        row.Answer = s.Answer;
        row.Rationale = s.Rationale;
        row.TemplateId = s.TemplateId;
        row.TemplateVersion = s.TemplateVersion;
        row.Recipe = s.Recipe;
        row.TeacherProvider = s.Teacher?.Provider;
        row.TeacherModel = s.Teacher?.Model;
        row.TeacherTokenizerId = s.Teacher?.TokenizerId;
        row.Temperature = s.Params?.Temperature;
        row.TopP = s.Params?.TopP;
        row.Seed = s.Params?.Seed;
        row.MaxTokens = s.Params?.MaxTokens;
        row.SeedInput = s.SeedInput;
        row.CreatedAt = ToStoredTimestamp(s.CreatedAt);
        row.PrivilegedContextUsed = s.PrivilegedContextUsed;
        row.Verified = s.Verified;
        row.Verifier = s.Verifier;
        row.Score = s.Score;
        row.PromptTokens = s.PromptTokens;
        row.CompletionTokens = s.CompletionTokens;
        row.CostUsd = s.CostUsd;
        row.LatencyMs = s.LatencyMs;
        return row;
    }

    private static MessageRow ToRow(ChatMessage m, bool withLogprobs) => new()
    {
        Role = m.Role,
        Content = m.Content,
        Reasoning = m.Reasoning,
        ToolCalls = m.ToolCalls.Select(c => new ToolCallRow { Id = c.Id, Name = c.Name, Arguments = c.Arguments }).ToList(),
        ToolCallId = m.ToolCallId,
        Name = m.Name,
        Logprobs = !withLogprobs ? [] : m.Logprobs.Select(t => new TokenLogprobRow
        {
            Token = t.Token,
            TokenId = t.TokenId,
            Logprob = t.Logprob,
            Top = t.Top.Select(x => new TopLogprobRow { Token = x.Token, TokenId = x.TokenId, Logprob = x.Logprob }).ToList(),
        }).ToList(),
        LogprobsTemperature = m.LogprobProvenance?.Temperature,
        LogprobsTopP = m.LogprobProvenance?.TopP,
        LogprobsTopK = m.LogprobProvenance?.TopK,
        LogprobsRaw = m.LogprobProvenance?.Raw,
        IsError = m.IsError ? true : null,
    };

    private static ChatMessage ToMessage(MessageRow m) => new()
    {
        Role = m.Role,
        Content = m.Content,
        Reasoning = m.Reasoning,
        ToolCalls = m.ToolCalls.Select(c => new ToolCall(c.Id, c.Name, c.Arguments)).ToArray(),
        ToolCallId = m.ToolCallId,
        Name = m.Name,
        Logprobs = m.Logprobs.Select(t => new TokenLogprob(
            t.Token, t.TokenId, t.Logprob, t.Top.Select(x => new TopLogprob(x.Token, x.TokenId, x.Logprob)).ToArray())).ToArray(),
        // The top-k count is written whenever provenance is, so a row without it recorded none.
        LogprobProvenance = m.LogprobsTopK is { } topK ? new LogprobProvenance(m.LogprobsTemperature, m.LogprobsTopP, topK, m.LogprobsRaw) : null,
        IsError = m.IsError == true,
    };
}
