package org.sft4j.magics;

import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.sft4j.config.SftConfig;

import java.util.List;

/** {@code %sft.config [--key value ...]} or {@code %%sft.config} with YAML: shows (and sets) the session's config. */
final class ConfigMagic {

    private ConfigMagic() {}

    static Object run(BaseKernel k, List<String> args, String body) throws Exception {
        SftConfig c = Session.resolve(Flags.parse(args), body);
        Outputs.warnings(k, Session.notices(c));
        String yaml = c.toYaml();
        k.display(Renderers.html("<pre>" + Html.escape(yaml) + "</pre>", yaml));
        return null;
    }
}
