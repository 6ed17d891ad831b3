package org.sft4j.read;

import org.sft4j.read.DataException;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads a byte stream line by line as strict UTF-8, so an invalid byte is reported with its line and
 * its byte offset in the file (a {@code Reader} would only say that decoding failed).
 */
final class Utf8Lines implements AutoCloseable {

    private final InputStream in;
    private final String file;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream(256);
    private long offset;
    private int lineNo;

    Utf8Lines(InputStream in, String file) {
        this.in = new BufferedInputStream(in, 1 << 16);
        this.file = file;
    }

    /** 1-based number of the line last returned. */
    int lineNo() {
        return lineNo;
    }

    /** The next line without its terminator (\n or \r\n), or null at the end. */
    String next() {
        buf.reset();
        long lineStart = offset;
        try {
            int b;
            boolean any = false;
            while ((b = in.read()) >= 0) {
                offset++;
                any = true;
                if (b == '\n') {
                    break;
                }
                buf.write(b);
            }
            if (!any) {
                return null;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        }
        lineNo++;
        byte[] bytes = buf.toByteArray();
        int len = bytes.length;
        if (len > 0 && bytes[len - 1] == '\r') {
            len--;
        }
        if (lineNo == 1 && len >= 2 && ((bytes[0] & 0xff) == 0xff && (bytes[1] & 0xff) == 0xfe
                || (bytes[0] & 0xff) == 0xfe && (bytes[1] & 0xff) == 0xff)) {
            throw new DataException(file + ":1", "the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8");
        }
        if (lineNo == 1 && len >= 3 && (bytes[0] & 0xff) == 0xef && (bytes[1] & 0xff) == 0xbb && (bytes[2] & 0xff) == 0xbf) {
            return decode(bytes, 3, len - 3, lineStart + 3);
        }
        return decode(bytes, 0, len, lineStart);
    }

    private String decode(byte[] b, int from, int len, long lineStart) {
        try {
            return decoder.decode(ByteBuffer.wrap(b, from, len)).toString();
        } catch (CharacterCodingException e) {
            long bad = lineStart + from + TextLines.firstInvalid(java.util.Arrays.copyOfRange(b, from, from + len));
            throw new DataException(file + ":" + lineNo, "invalid UTF-8 at byte offset " + bad);
        }
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
