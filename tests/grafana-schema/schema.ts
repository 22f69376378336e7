// The type every generated dashboard must have: @grafana/schema's `Dashboard`
// (Grafana 11.1, the version deploy/docker-compose.yml runs), with each
// panel's options and field options typed by its plugin's schema and the
// Prometheus queries typed as the Prometheus data source reads them.
//
// Object literals assigned to these types get TypeScript's excess-property
// check, so a misspelt key fails as well as a wrong value.

import type {
  AnnotationQuery,
  Dashboard,
  DataQuery,
  FieldConfig,
  FieldConfigSource,
  Panel,
  RowPanel,
} from '@grafana/schema';
import type * as bargauge from '@grafana/schema/dist/esm/raw/composable/bargauge/panelcfg/x/BarGaugePanelCfg_types.gen';
import type * as gauge from '@grafana/schema/dist/esm/raw/composable/gauge/panelcfg/x/GaugePanelCfg_types.gen';
import type * as stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type * as statetimeline from '@grafana/schema/dist/esm/raw/composable/statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen';
import type * as table from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';
import type * as text from '@grafana/schema/dist/esm/raw/composable/text/panelcfg/x/TextPanelCfg_types.gen';
import type * as timeseries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

/**
 * A type as JSON spells it. The schema declares modes as TypeScript enums,
 * which a JSON literal cannot name; `${E}` is the union of their values.
 */
type Json<T> = T extends string
  ? `${T}`
  : T extends number | boolean | null | undefined
    ? T
    : T extends readonly (infer U)[]
      ? Json<U>[]
      : T extends object
        ? { [K in keyof T]: Json<T[K]> }
        : T;

/**
 * A Prometheus query. @grafana/schema 11 types panel targets only as
 * `Record<string, unknown>`; these are the fields of Grafana's `PromQuery`
 * (packages/grafana-prometheus/src/types.ts) that mimamori writes.
 */
interface PromQuery extends DataQuery {
  expr: string;
  legendFormat?: string;
  range?: boolean;
  instant?: boolean;
  format?: 'time_series' | 'table' | 'heatmap';
  editorMode?: 'code' | 'builder';
  interval?: string;
}

/**
 * A Prometheus annotation. The data source reads these four from the
 * annotation itself (PrometheusAnnotationSupport.processEvents); the
 * schema leaves data-source fields out of `AnnotationQuery`.
 */
interface PromAnnotation extends AnnotationQuery<PromQuery> {
  titleFormat?: string;
  textFormat?: string;
  tagKeys?: string;
  useValueForTime?: boolean;
}

/**
 * A panel of one plugin. Options are `Partial`: Grafana fills in what a
 * panel leaves out from the plugin's defaults.
 */
type Typed<Type extends string, Options, Custom = Record<string, never>> = Omit<
  Panel,
  'type' | 'options' | 'fieldConfig' | 'targets'
> & {
  type: Type;
  options?: Partial<Options>;
  fieldConfig?: Omit<FieldConfigSource, 'defaults'> & {
    defaults: Omit<FieldConfig, 'custom'> & { custom?: Partial<Custom> };
  };
  targets?: PromQuery[];
};

/** The panel plugins mimamori uses; any other `type` fails. */
type CheckedPanel =
  | Typed<'bargauge', bargauge.Options>
  | Typed<'gauge', gauge.Options>
  | Typed<'stat', stat.Options>
  | Typed<'state-timeline', statetimeline.Options, statetimeline.FieldConfig>
  | Typed<'table', table.Options, table.FieldConfig>
  | Typed<'text', text.Options>
  | Typed<'timeseries', timeseries.Options, timeseries.FieldConfig>;

export type CheckedDashboard = Json<
  Omit<Dashboard, 'panels' | 'annotations'> & {
    panels?: Array<CheckedPanel | RowPanel>;
    annotations?: { list?: PromAnnotation[] };
  }
>;
