using System.Buffers.Binary;
using System.Collections;
using System.Text;
using Distill.Core.Samples;
using Microsoft.Win32.SafeHandles;

namespace Distill.Studio;

/// <summary>
/// The text of a dataset's samples as the sample list needs it: each row's preview (its first user turn, shortened) and its
/// lower-cased search text, kept in a temporary file (gone when this is disposed or the process ends, however it ends) rather than
/// in memory.
/// Why: a tool-trace row carries one to a few kilobytes of text, so a million rows held as .NET strings took gigabytes, where
/// the list itself needs only a page of previews at a time and a search reads the file once, front to back.
/// </summary>
public sealed class SampleTexts : IDisposable
{
    public const int PreviewLength = 160;

    private readonly SafeFileHandle _file;
    private readonly List<long> _offsets = [];
    private long _length;
    private readonly object _lock = new();

    private SampleTexts(SafeFileHandle file) => _file = file;

    /// <summary>A new, empty store in a temporary file under <paramref name="directory"/> (the system's temp folder by default).</summary>
    public static SampleTexts Create(string? directory = null)
    {
        var path = Path.Combine(directory ?? Path.GetTempPath(), $"distill-studio-{Guid.NewGuid():N}.text");
        if (OperatingSystem.IsWindows())
            return new SampleTexts(File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.DeleteOnClose));
        // Unlinked at once, read and written through the open handle: a studio killed with kill -9 leaves no file behind (with
        // DeleteOnClose, .NET on Unix deletes the file only when the handle is closed, so a killed process would leave ~1 GB per
        // million rows in the temp folder).
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        File.Delete(path);
        return new SampleTexts(handle);
    }

    /// <summary>Rows stored.</summary>
    public int Count
    {
        get { lock (_lock) return _offsets.Count; }
    }

    /// <summary>The preview shown in the list: the first user turn (or the seed input), cut at <see cref="PreviewLength"/> characters.</summary>
    public static string PreviewOf(Sample s)
    {
        var preview = s.Messages.FirstOrDefault(m => m.Role == ChatRoles.User)?.Content ?? s.SeedInput ?? "";
        return preview.Length <= PreviewLength ? preview : preview[..PreviewLength] + "…";
    }

    /// <summary>
    /// Everything a search looks at, lower-cased: the id, seed input, reject reason, every message's content, reasoning and tool
    /// calls, the answer and rationale. The system prompt is left out: it is the template's, the same in every row.
    /// </summary>
    public static string SearchTextOf(Sample s, string? rejectReason)
    {
        var text = new StringBuilder().Append(s.Id).Append('\n').Append(s.SeedInput).Append('\n').Append(rejectReason).Append('\n');
        foreach (var m in s.Messages)
        {
            if (m.Role == ChatRoles.System) continue;
            text.Append(m.Content).Append('\n').Append(m.Reasoning).Append('\n');
            foreach (var c in m.ToolCalls) text.Append(c.Name).Append(' ').Append(c.Arguments).Append('\n');
        }
        text.Append(s.Answer).Append('\n').Append(s.Rationale);
        return text.ToString().ToLowerInvariant();
    }

    /// <summary>Stores a sample's preview and search text; returns its row number.</summary>
    public int Add(Sample s, string? rejectReason)
    {
        var preview = Encoding.UTF8.GetBytes(PreviewOf(s));
        var search = Encoding.UTF8.GetBytes(SearchTextOf(s, rejectReason));
        var record = new byte[8 + preview.Length + search.Length];
        BinaryPrimitives.WriteInt32LittleEndian(record, preview.Length);
        preview.CopyTo(record, 4);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(4 + preview.Length), search.Length);
        search.CopyTo(record, 8 + preview.Length);
        lock (_lock)
        {
            RandomAccess.Write(_file, record, _length);
            _offsets.Add(_length);
            _length += record.Length;
            return _offsets.Count - 1;
        }
    }

    /// <summary>The preview of row <paramref name="row"/>.</summary>
    public string Preview(int row)
    {
        long offset;
        lock (_lock) offset = _offsets[row];
        Span<byte> header = stackalloc byte[4];
        ReadExactly(header, offset);
        var bytes = new byte[BinaryPrimitives.ReadInt32LittleEndian(header)];
        ReadExactly(bytes, offset + 4);
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Which rows' search text contains every one of <paramref name="terms"/> (lower-cased words), reading the file once.</summary>
    public BitArray Matching(IReadOnlyList<string> terms)
    {
        int count;
        long length;
        lock (_lock)
        {
            count = _offsets.Count;
            length = _length;
        }
        var matches = new BitArray(count);
        var needles = terms.Select(t => Encoding.UTF8.GetBytes(t.ToLowerInvariant())).ToArray();
        var buffer = new byte[1 << 20];
        long bufferStart = 0;
        int filled = 0;
        long offset = 0;
        for (var row = 0; row < count; row++)
        {
            // Each record is [preview length][preview][text length][text]; the buffer slides forward and grows for a huge record.
            var previewLength = BinaryPrimitives.ReadInt32LittleEndian(Window(4));
            offset += 4 + previewLength;
            var textLength = BinaryPrimitives.ReadInt32LittleEndian(Window(4));
            offset += 4;
            var text = Window(textLength);
            offset += textLength;
            var all = true;
            foreach (var needle in needles)
            {
                if (text.IndexOf(needle) < 0)
                {
                    all = false;
                    break;
                }
            }
            matches[row] = all;
        }
        return matches;

        ReadOnlySpan<byte> Window(int size)
        {
            if (offset < bufferStart || offset + size > bufferStart + filled)
            {
                if (buffer.Length < size) buffer = new byte[size];
                bufferStart = offset;
                filled = (int)Math.Min(buffer.Length, length - offset);
                ReadExactly(buffer.AsSpan(0, filled), offset);
            }
            return buffer.AsSpan((int)(offset - bufferStart), size);
        }
    }

    private void ReadExactly(Span<byte> into, long offset)
    {
        while (into.Length > 0)
        {
            var read = RandomAccess.Read(_file, into, offset);
            if (read <= 0) throw new IOException("the studio's text file ended early");
            into = into[read..];
            offset += read;
        }
    }

    public void Dispose() => _file.Dispose();
}
