package org.sft4j.magics;

import org.dflib.jjava.jupyter.Extension;
import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.magic.CellMagic;
import org.dflib.jjava.jupyter.kernel.magic.LineMagic;
import org.dflib.jjava.jupyter.kernel.magic.MagicsRegistry;
import org.sft4j.base.UserError;

import java.util.List;

/**
 * Registers the {@code %sft.*} magics and sft4j's renderers in a JJava kernel (sft4j's own, or a stock
 * JJava kernel that loads this jar: {@code META-INF/services/org.dflib.jjava.jupyter.Extension}).
 */
public final class SftExtension implements Extension {

    /** Imports every notebook gets, so cells can use the API without boilerplate. */
    static final String STARTUP = String.join("\n",
            "import java.nio.file.*;",
            "import java.util.*;",
            "import org.sft4j.*;",
            "import org.sft4j.config.*;",
            "import org.sft4j.magics.Session;",
            "import org.sft4j.report.*;",
            "import tech.tablesaw.api.*;",
            "import static org.dflib.jjava.jupyter.kernel.BaseNotebookStatics.*;");

    /** A magic body: args, cell body (null for line magics). */
    @FunctionalInterface
    interface Body {
        Object run(BaseKernel k, List<String> args, String body) throws Exception;
    }

    @Override
    public void install(BaseKernel kernel) {
        Renderers.register(kernel.getRenderer());
        MagicsRegistry r = kernel.getMagicsRegistry();
        both(r, "sft.help", HelpMagic::run);
        both(r, "sft.config", ConfigMagic::run);
        both(r, "sft.data", DataMagic::run);
        both(r, "sft.train", TrainMagic::run);
        both(r, "sft.eval", EvalMagic::run);
        both(r, "sft.export", ExportMagic::run);
        kernel.eval(STARTUP);
    }

    private static void both(MagicsRegistry r, String name, Body body) {
        r.registerLineMagic(name, (LineMagic<Object, BaseKernel>) (k, args) -> wrap(body, k, args, null));
        r.registerCellMagic(name, (CellMagic<Object, BaseKernel>) (k, args, cell) -> wrap(body, k, args, cell));
    }

    /** Makes user-caused failures one-line messages in the cell. */
    private static Object wrap(Body body, BaseKernel k, List<String> args, String cell) throws Exception {
        try {
            return body.run(k, args, cell);
        } catch (NumberFormatException e) {
            throw new UserError("a flag expected a number: " + e.getMessage(), e);
        }
    }
}
