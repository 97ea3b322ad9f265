-- Manual failback: the operator moves traffic back to the preferred target once it passes its
-- checks and removes the annotation when the move is recorded (or when there is nothing better to
-- go back to).
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["resilience.dev/failback"] = "now"
return obj
