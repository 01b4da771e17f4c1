using System.Runtime.InteropServices;
using System.Text;

namespace Distill.Models.Tokenization;

/// <summary>
/// Unicode NFC for tokenizers that normalize (Qwen2). The solution builds with InvariantGlobalization, where
/// <see cref="string.Normalize(NormalizationForm)"/> leaves non-ASCII text unchanged, so ICU's normalizer is called
/// directly when the system has ICU; .NET's own is used when it works (globalization on).
/// </summary>
public static unsafe class UnicodeNfc
{
    private static readonly Lazy<Func<string, string>?> Implementation = new(FindImplementation);

    /// <summary>True when text can really be normalized here.</summary>
    public static bool IsAvailable => Implementation.Value is not null;

    public static string Normalize(string text)
    {
        // Text below U+0300 (ASCII, Latin-1, Latin Extended) is always NFC: combining marks start at U+0300.
        if (IsTriviallyNormalized(text))
        {
            return text;
        }
        var normalize = Implementation.Value
            ?? throw new PlatformNotSupportedException("Unicode NFC normalization is unavailable (no ICU and invariant globalization).");
        return normalize(text);
    }

    private static bool IsTriviallyNormalized(string text)
    {
        foreach (var c in text)
        {
            if (c >= '\u0300')
            {
                return false;
            }
        }
        return true;
    }

    private static Func<string, string>? FindImplementation()
    {
        const string probe = "e\u0301";
        if (probe.Normalize(NormalizationForm.FormC) == "\u00e9")
        {
            return text => text.Normalize(NormalizationForm.FormC);
        }
        var icu = IcuNormalizer.TryCreate();
        return icu is not null && icu(probe) == "\u00e9" ? icu : null;
    }

    private static class IcuNormalizer
    {
        private static readonly string[] LibraryNames = ["libicuuc.so", "libicuuc.so.78", "libicuuc.so.76", "libicuuc.so.74", "libicuuc.so.72",
            "libicuuc.so.70", "libicuuc.so.67", "libicuuc.so.66", "libicuuc.so.63", "libicuuc.dylib", "icuuc.dll", "icu.dll"];

        public static Func<string, string>? TryCreate()
        {
            foreach (var name in LibraryNames)
            {
                if (!NativeLibrary.TryLoad(name, out var library))
                {
                    continue;
                }
                // ICU suffixes its exports with the major version (unorm2_normalize_72) unless built without renaming.
                foreach (var suffix in new[] { "" }.Concat(Enumerable.Range(50, 40).Reverse().Select(v => "_" + v)))
                {
                    if (NativeLibrary.TryGetExport(library, "unorm2_getNFCInstance" + suffix, out var getInstance)
                        && NativeLibrary.TryGetExport(library, "unorm2_normalize" + suffix, out var normalize))
                    {
                        var errorCode = 0;
                        var instance = ((delegate* unmanaged<int*, nint>)getInstance)(&errorCode);
                        if (errorCode > 0 || instance == 0)
                        {
                            return null;
                        }
                        return text => Normalize((delegate* unmanaged<nint, char*, int, char*, int, int*, int>)normalize, instance, text);
                    }
                }
            }
            return null;
        }

        private static string Normalize(delegate* unmanaged<nint, char*, int, char*, int, int*, int> normalize, nint instance, string text)
        {
            // NFC never grows text by more than a factor of 3 (Unicode's stated bound).
            var buffer = new char[text.Length * 3 + 16];
            var errorCode = 0;
            int length;
            fixed (char* source = text)
            fixed (char* destination = buffer)
            {
                length = normalize(instance, source, text.Length, destination, buffer.Length, &errorCode);
            }
            if (errorCode > 0)
            {
                throw new InvalidOperationException($"ICU NFC normalization failed with error {errorCode}.");
            }
            return new string(buffer, 0, length);
        }
    }
}
