package org.sft4j.magics;

import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LiveDisplayTest {

    @Test
    void firstFrameIsShownLaterOnesUpdateItAtMostFourTimesASecond() {
        List<String> events = new ArrayList<>();
        long[] now = {0};
        LiveDisplay d = new LiveDisplay(new LiveDisplay.Sink() {
            @Override
            public void display(DisplayData data) {
                events.add("display " + data.getDisplayId() + " " + data.getData(org.dflib.jjava.jupyter.kernel.display.mime.MIMEType.TEXT_PLAIN));
            }

            @Override
            public void update(String id, DisplayData data) {
                events.add("update " + id + " " + data.getData(org.dflib.jjava.jupyter.kernel.display.mime.MIMEType.TEXT_PLAIN));
            }
        }, 250, () -> now[0]);
        int[] built = {0};
        for (int i = 0; i < 100; i++) {          // 100 frames over one second
            int frame = i;
            now[0] = i * 10L;
            d.update(() -> {
                built[0]++;
                return new DisplayData("frame " + frame);
            });
        }
        d.finish(new DisplayData("final"));
        assertEquals("display " + d.id() + " frame 0", events.get(0));
        assertEquals(4, built[0], "frames at 0, 250, 500, 750 ms and none in between: 1 display + 3 updates, built lazily");
        assertEquals("update " + d.id() + " frame 25", events.get(1));
        assertEquals("update " + d.id() + " final", events.get(events.size() - 1));
        assertEquals(5, events.size());
    }

    @Test
    void flagsAndSessionConfig() throws Exception {
        Flags f = Flags.parse(List.of("cfg.yaml", "--learning-rate", "1e-4", "--max_steps=20", "--packing", "--samples", "3"));
        assertEquals(List.of("cfg.yaml"), f.positional());
        assertEquals("3", f.take("samples", "5"));
        assertEquals("1e-4", f.options().get("learning_rate"));
        assertEquals("true", f.options().get("packing"));
        Session.set(org.sft4j.config.SftConfig.defaults());
        Session.resolve(Flags.parse(List.of()), "learning_rate: 2.0e-4\nmax_steps: 7");
        org.sft4j.config.SftConfig c = Session.resolve(Flags.parse(List.of("--max_steps", "9")), null);
        assertEquals(2.0e-4, c.train().learningRate(), "flags start from the session's config");
        assertEquals(9, c.train().maxSteps());
    }
}
